// A stateless greeter. Greet answers at once; GreetCounted asks the counter
// service how often this name was greeted and answers when that reply comes,
// through a promise, so no thread waits for the counter.
#include <string>
#include <utility>

#include "greeter.troupe.h"

namespace {

using namespace demo::greeter::v1;

constexpr std::string_view counter_service = "demo.counter.v1.Counter";

class GreeterService : public GreeterBase {
public:
  troupe::reply<Greeting> Greet(troupe::call_context& ctx,
                                const GreetRequest& request) override {
    if (request.name().empty())
      return empty_name();
    return greeting(ctx, "Hello, " + request.name() + "!");
  }

  troupe::reply<Greeting> GreetCounted(troupe::call_context& ctx,
                                       const GreetRequest& request) override {
    if (request.name().empty())
      return empty_name();
    CounterAdd add;
    add.set_key(request.name());
    add.set_delta(1);
    auto answer = ctx.make_promise<Greeting>();
    ctx.call<CounterReply>(counter_service, "Add", request.name(), add)
      .then(
        [answer, ctx, name = request.name()](CounterReply count) {
          answer.deliver(greeting(ctx, "Hello, " + name + "! (greeting #"
                                         + std::to_string(count.value()) + ")"));
        },
        [answer](troupe::status error) { answer.deliver(std::move(error)); });
    return answer;
  }

private:
  static troupe::status empty_name() {
    return {troupe::status_code::invalid_argument, "name must not be empty"};
  }

  static Greeting greeting(const troupe::call_context& ctx, std::string message) {
    Greeting reply;
    reply.set_message(std::move(message));
    reply.set_instance(ctx.instance());
    return reply;
  }
};

} // namespace

TROUPE_MODULE("greeter", "1.0.0") {
  registrar.add_service<GreeterService>();
}
