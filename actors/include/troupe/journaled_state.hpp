// The state of one key of a KEYED service that journals it: declared with
// (troupe.service).state = {type: "State", journal: {event: "Event"}} (see
// troupe/options.proto). protoc-gen-troupe makes the generated base class
// derive from journaled_state<State, Event>. Handlers read state() and change
// it only by emitting events; the service applies an event to the state in
// apply(), which the runtime also calls to rebuild the state on activation:
//
//   void apply(CounterState& state, const CounterEvent& event) override {
//     state.set_value(state.value() + event.delta());
//   }
//   troupe::reply<CounterValue> Add(troupe::call_context&, const AddRequest& r) override {
//     CounterEvent added;
//     added.set_delta(r.delta());
//     emit(added);                      // applied now: state() shows it
//     return current();
//   }
//
// The events a handler emitted are appended to the key's journal before its
// reply leaves (the same rule as a changed keyed_state: acknowledged means
// stored). A handler that fails (returns an error status or throws)
// discards its events, and the state is as before them. On activation the
// runtime loads the latest snapshot and replays the events after it.
//
// apply() must be a function of the state and the event only: it runs again
// on every replay, so it must not read the clock, call other services or
// emit events (emit() inside apply() throws std::logic_error).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/keyed_state.hpp"

namespace troupe {

template <class State, class Event>
class journaled_state : public detail::state_access, public detail::journal_access {
public:
  using state_type = State;
  using event_type = Event;

  /// The key's state: the latest snapshot with every event after it applied,
  /// including those this activation's handlers emitted.
  const State& state() const noexcept {
    return state_;
  }

  /// Applies `event` to the state now (through apply()) and records it, to
  /// be appended to the key's journal before the handler's reply leaves.
  void emit(const Event& event) {
    begin_change();
    apply_guarded(event);
    events_.push_back(event);
  }

  void emit(Event&& event) {
    begin_change();
    apply_guarded(event);
    events_.push_back(std::move(event));
  }

protected:
  /// Changes `state` by `event`. Called for every emitted event and for
  /// every stored event the runtime replays.
  virtual void apply(State& state, const Event& event) = 0;

private:
  // -- detail::state_access ---------------------------------------------------

  bool load_state(std::string_view bytes) override {
    saved_.reset();
    events_.clear();
    state_.Clear();
    return state_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  }

  bool state_changed() const noexcept override {
    return !events_.empty();
  }

  bool save_state(std::string& bytes) override {
    // Not used for a journaled state (the runtime takes its events); kept
    // true to the contract all the same.
    saved_.reset();
    events_.clear();
    return state_.SerializeToString(&bytes);
  }

  void revert_state() override {
    if (saved_) {
      state_ = std::move(*saved_);
      saved_.reset();
    }
    events_.clear();
  }

  detail::journal_access* journal() noexcept override {
    return this;
  }

  // -- detail::journal_access -------------------------------------------------

  bool replay_event(std::string_view bytes) override {
    Event event;
    if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return false;
    apply_guarded(event);
    return true;
  }

  bool take_events(std::vector<std::string>& events) override {
    saved_.reset();
    bool ok = true;
    for (const auto& event : events_) {
      events.emplace_back();
      ok = ok && event.SerializeToString(&events.back());
    }
    events_.clear();
    return ok;
  }

  bool snapshot(std::string& bytes) const override {
    return state_.SerializeToString(&bytes);
  }

  // ---------------------------------------------------------------------------

  /// Before the first event since the last load or take: keeps a copy of
  /// the state, so that a failing handler's events can be undone.
  void begin_change() {
    if (applying_)
      throw std::logic_error("emit() inside apply(): apply() must only change the state");
    if (!saved_)
      saved_ = std::make_unique<State>(state_);
  }

  void apply_guarded(const Event& event) {
    applying_ = true;
    try {
      apply(state_, event);
    } catch (...) {
      applying_ = false;
      throw;
    }
    applying_ = false;
  }

  State state_;
  std::unique_ptr<State> saved_;  // the state before the events not yet taken
  std::vector<Event> events_;     // emitted, not yet taken
  bool applying_ = false;
};

} // namespace troupe
