// The keys test module: handlers that show the actor key they were given.
#include <string>
#include <utility>

#include "keys.troupe.h"

namespace {

using namespace test::keys::v1;

class KeyEchoService : public KeyEchoBase {
public:
  troupe::reply<KeySeen> Echo(troupe::call_context& ctx, const KeyedRequest& request) override {
    return seen(ctx, request);
  }

  troupe::reply<KeySeen> Get(troupe::call_context& ctx, const KeyedRequest& request) override {
    return seen(ctx, request);
  }

  troupe::reply<KeySeen> Unrouted(troupe::call_context& ctx,
                                  const KeyedRequest& request) override {
    return seen(ctx, request);
  }

private:
  static KeySeen seen(const troupe::call_context& ctx, const KeyedRequest& request) {
    KeySeen reply;
    reply.set_request_key(request.key());
    reply.set_context_key(ctx.key());
    reply.set_note(request.note());
    return reply;
  }
};

class KeyRelayService : public KeyRelayBase {
public:
  troupe::reply<RelayReply> Relay(troupe::call_context& ctx,
                                  const RelayRequest& request) override {
    KeyedRequest echo;
    echo.set_key(request.request_key());
    echo.set_note("relayed");
    auto answer = ctx.make_promise<RelayReply>();
    KeyEchoClient{ctx}.Echo(request.target(), echo).then(
      [answer](KeySeen seen) {
        RelayReply reply;
        *reply.mutable_seen() = std::move(seen);
        answer.deliver(reply);
      },
      [answer](troupe::status error) {
        RelayReply reply;
        reply.set_error_code(std::string{troupe::to_string(error.code())});
        reply.set_error_message(error.message());
        answer.deliver(reply);
      });
    return answer;
  }
};

} // namespace

TROUPE_MODULE("keys", "1.0.0") {
  registrar.add_service<KeyEchoService>();
  registrar.add_service<KeyRelayService>();
}
