// How a node sets up CAF's scheduler. Public so that benchmarks can run raw
// CAF under the same scheduler as the node: a comparison of the runtime
// against CAF must not also compare two scheduler tunings.
#pragma once

#include <cstddef>

#include <caf/actor_system_config.hpp>

namespace troupe::runtime {

/// Sets `threads` workers (CAF's own default is max(cores, 4): more workers
/// than cores only adds context switches) and the node's idle policy: after
/// CAF's aggressive polling, an idle worker sleeps on the condition variable
/// that an enqueue from outside the scheduler (a gateway I/O thread, the
/// clock) signals, instead of CAF's default of 500 polls with 50 us naps in
/// between. The naps cost a context switch each and delay the hand-off from
/// the I/O thread by up to 50 us; on a busy gateway they took ~15% of its
/// throughput (docs/benchmarks.md), and their polling takes CPU from every
/// other process on the machine. A sleeping worker still wakes every
/// millisecond to steal work queued behind a busy one.
void apply_scheduler_settings(caf::actor_system_config& cfg, std::size_t threads);

} // namespace troupe::runtime
