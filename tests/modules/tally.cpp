// test.tally.v1.Tallies and TruncatedTallies: keyed services whose
// TallyState is journaled as Counted events.
#include <stdexcept>

#include "tally.troupe.h"

namespace {

using namespace test::tally::v1;

template <class Base>
class tally_service : public Base {
public:
  troupe::reply<Tally> Add(troupe::call_context&, const AddRequest& request) override {
    count(request);
    return tally();
  }

  troupe::reply<Tally> Get(troupe::call_context&, const GetRequest&) override {
    return tally();
  }

protected:
  void apply(TallyState& state, const Counted& event) override {
    state.set_total(state.total() + event.amount());
    state.set_events(state.events() + 1);
    ++applied_;
  }

  void count(const AddRequest& request) {
    for (int i = 0; i < std::max(request.times(), 1); ++i) {
      Counted event;
      event.set_amount(request.amount());
      this->emit(event);
    }
  }

  Tally tally() const {
    Tally t;
    t.set_total(this->state().total());
    t.set_events(this->state().events());
    t.set_applied(applied_);
    return t;
  }

private:
  int applied_ = 0;
};

class TalliesService : public tally_service<TalliesBase> {
public:
  troupe::reply<Tally> AddThenRefuse(troupe::call_context&, const AddRequest& request) override {
    count(request);
    return troupe::status{troupe::status_code::failed_precondition, "refused after counting"};
  }

  troupe::reply<Tally> AddThenThrow(troupe::call_context&, const AddRequest& request) override {
    count(request);
    throw std::runtime_error("thrown after counting");
  }
};

class TruncatedTalliesService : public tally_service<TruncatedTalliesBase> {};

} // namespace

TROUPE_MODULE("tally", "1.0.0") {
  registrar.add_service<TalliesService>();
  registrar.add_service<TruncatedTalliesService>();
}
