// State an http_server shares with its connections and with the responders
// that actor-system threads hold. Owned by shared_ptr so that a responder
// outliving the server still finds it (and learns that the server is gone).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "troupe/gateway/gateway_config.hpp"
#include "body_budget.hpp"
#include "http_server.hpp"

namespace troupe::gateway::detail {

class http_connection;

struct server_state {
  server_state(gateway_config cfg, request_handler h, runtime::logger& l)
    : config(std::move(cfg)), handler(std::move(h)), log(l),
      max_connections(config.max_connections > 0 ? config.max_connections
                                                 : default_max_connections()),
      bodies(std::max(config.max_body_memory, config.max_body_bytes)) {
  }

  const gateway_config config;
  const request_handler handler;
  runtime::logger& log;

  // -- bounds (see http_server.hpp) ---------------------------------------------

  // Connections open; only the acceptor's thread adds, so it never passes
  // the limit. Taken back when a connection object goes.
  const std::size_t max_connections;
  std::atomic<std::size_t> open_connections{0};
  // Refused connections still lingering (reading what the client sends
  // until it closes), bounded so that refusals cannot use up descriptors.
  std::atomic<std::size_t> lingering_refusals{0};
  std::atomic<std::uint64_t> connections_refused{0};
  // When accept() last failed for want of descriptors (steady clock, ns since
  // its epoch; 0: never).
  std::atomic<std::int64_t> descriptors_short_at{0};
  std::atomic<std::uint64_t> slow_clients_dropped{0};
  body_budget bodies;

  std::atomic<bool> draining{false};
  // drain()'s deadline has come: no further request is read on any connection.
  std::atomic<bool> drain_deadline_passed{false};
  // Requests answered 503 because drain()'s deadline came first.
  std::atomic<std::size_t> answered_at_drain_deadline{0};

  // Responders post into the io_context only while `accepting_responses`,
  // under a shared lock; stop() clears it under the exclusive lock before
  // the io_context goes away.
  std::shared_mutex responses_mutex;
  bool accepting_responses = true;

  // Requests read and not yet answered; drain() waits for zero. The count
  // is atomic so that the I/O threads take no lock per request; the mutex
  // only orders the last decrement's notify with drain()'s wait.
  std::atomic<std::size_t> requests_in_progress{0};
  std::mutex progress_mutex;
  std::condition_variable progress_changed;

  // Live connections, so that drain() can close the idle ones.
  std::mutex connections_mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<http_connection>> connections;
  std::uint64_t next_connection_id = 0;
};

/// Counts one open connection for as long as it lives.
class connection_slot {
public:
  explicit connection_slot(server_state& state) : state_(&state) {
    state_->open_connections.fetch_add(1);
  }
  ~connection_slot() {
    state_->open_connections.fetch_sub(1);
  }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

private:
  server_state* state_;
};

/// Counts one request in progress for as long as it lives.
class request_in_progress {
public:
  explicit request_in_progress(server_state& state) : state_(&state) {
    state_->requests_in_progress.fetch_add(1);
  }

  ~request_in_progress() {
    if (state_->requests_in_progress.fetch_sub(1) == 1 && state_->draining.load()) {
      std::lock_guard lock{state_->progress_mutex};
      state_->progress_changed.notify_all();
    }
  }

  request_in_progress(const request_in_progress&) = delete;
  request_in_progress& operator=(const request_in_progress&) = delete;

private:
  server_state* state_;
};

} // namespace troupe::gateway::detail
