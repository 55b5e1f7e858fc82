#include "reply_to.hpp"

#include <utility>

#include <caf/mailbox_element.hpp>

namespace troupe::runtime {

void reply_to::respond_now(caf::local_actor& host, reply_envelope&& r) {
  auto* request = host.current_mailbox_element();
  if (request == nullptr || request->mid.is_answered())
    return;
  if (!request->stages.empty()) {
    // A forwarding chain: the promise knows how to walk it.
    host.make_response_promise().deliver(std::move(r));
    return;
  }
  // As response_promise::deliver does, minus the message in between: the
  // sender is moved out, which is what tells CAF the request was answered.
  auto requester = std::move(request->sender);
  auto response_id = request->mid.response_id();
  request->mid.mark_as_answered();
  if (requester)
    requester->enqueue(caf::make_mailbox_element(host.ctrl(), response_id, {}, std::move(r)),
                       host.context());
}

} // namespace troupe::runtime
