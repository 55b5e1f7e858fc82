// The state of one key of a KEYED service that declares it with
// (troupe.service).state (see troupe/options.proto). protoc-gen-troupe makes
// the generated base class derive from keyed_state<State>, so handlers read
// state() and change mutable_state():
//
//   troupe::reply<CounterValue> Add(troupe::call_context&, const AddRequest& r) override {
//     mutable_state().set_value(state().value() + r.delta());
//     return current();
//   }
//
// The runtime loads the key's stored state before the first call (and before
// on_activate), and when a handler changed the state it writes it to the
// node's state store before that handler's reply leaves: a reply the caller
// sees is never ahead of what is stored. A handler that fails (returns an
// error status or throws) leaves the stored state as it was, and the
// in-memory state with it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

namespace detail {

class journal_access;

/// How the runtime reaches a service object's declared state; implemented by
/// keyed_state and journaled_state (troupe/journaled_state.hpp), found
/// through service_base::declared_state().
class state_access {
public:
  /// Replaces the state by stored `bytes` (empty: the default state). False
  /// when the bytes do not parse.
  virtual bool load_state(std::string_view bytes) = 0;

  /// True when a handler asked for mutable_state() since the last load or save.
  virtual bool state_changed() const noexcept = 0;

  /// The state's bytes, to be written; from here on the state counts as
  /// unchanged. False when it cannot be serialized.
  virtual bool save_state(std::string& bytes) = 0;

  /// Undoes the changes made since the last load or save: a handler failed.
  virtual void revert_state() = 0;

  /// The journal of a journaled state; null for a state kept as one value.
  virtual journal_access* journal() noexcept {
    return nullptr;
  }

protected:
  ~state_access() = default;
};

/// How the runtime reaches the events of a journaled state
/// (troupe/journaled_state.hpp). state_access::load_state() loads a snapshot
/// (the state after some event), state_changed() says whether events were
/// emitted since the last load or take, revert_state() discards them.
class journal_access {
public:
  /// Applies a stored event to the state: replay on activation. False when
  /// the bytes do not parse. Runs the service's apply(), which may throw.
  virtual bool replay_event(std::string_view bytes) = 0;

  /// Appends the events emitted since the last load or take to `events`,
  /// serialized, in order; from here on the state counts as unchanged. False
  /// when one cannot be serialized.
  virtual bool take_events(std::vector<std::string>& events) = 0;

  /// The state's bytes, for a snapshot; the state stays as it is. False when
  /// it cannot be serialized.
  virtual bool snapshot(std::string& bytes) const = 0;

protected:
  ~journal_access() = default;
};

} // namespace detail

template <class State>
class keyed_state : public detail::state_access {
public:
  using state_type = State;

  /// The key's state: as stored when the key activated, with the changes
  /// handlers made since.
  const State& state() const noexcept {
    return state_;
  }

  /// The state, to change. The first call since the last save keeps a copy
  /// of the state as it was, so that a failing handler's changes can be
  /// undone.
  State& mutable_state() {
    if (!saved_)
      saved_ = std::make_unique<State>(state_);
    return state_;
  }

  bool load_state(std::string_view bytes) override {
    saved_.reset();
    state_.Clear();
    return state_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  }

  bool state_changed() const noexcept override {
    return saved_ != nullptr;
  }

  bool save_state(std::string& bytes) override {
    saved_.reset();
    return state_.SerializeToString(&bytes);
  }

  void revert_state() override {
    if (saved_) {
      state_ = std::move(*saved_);
      saved_.reset();
    }
  }

private:
  State state_;
  std::unique_ptr<State> saved_;  // the state as last loaded or saved, while changed
};

} // namespace troupe
