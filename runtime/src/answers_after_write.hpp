// The answers that one state write releases, delivered by the write's own
// completion on the state store's thread as soon as the store acknowledges
// the write (for SYNC, once it is synced).
//
// Otherwise a held answer waits for the write's outcome to reach the host and
// only then goes out: behind every message already in the host's mailbox (a
// keyed shard's other keys' calls) and for a scheduler thread to run it. The
// answer of an acknowledged write need not wait for either.
//
// Only answers that may be delivered from any thread are taken
// (reply_to::deliverable_anywhere: a local call's completion, as the
// gateway's); an answer to a CAF request is delivered by the host.
#pragma once

#include <utility>
#include <vector>

#include "reply_to.hpp"
#include "troupe/runtime/envelope.hpp"

namespace troupe::runtime {

class answers_after_write {
public:
  /// `refusal()` answers them all when the write fails (made only then).
  explicit answers_after_write(reply_envelope (*refusal)()) : refusal_(refusal) {
  }

  void add(reply_to&& reply, reply_envelope&& answer) {
    answers_.emplace_back(std::move(reply), std::move(answer));
  }

  /// Delivers each answer when the write succeeded (`written`), else the
  /// refusal. Once.
  void deliver(bool written) {
    for (auto& [reply, answer] : answers_)
      reply.deliver(written ? std::move(answer) : refusal_());
    answers_.clear();
  }

private:
  std::vector<std::pair<reply_to, reply_envelope>> answers_;
  reply_envelope (*refusal_)();
};

} // namespace troupe::runtime
