#include "call_forwarder.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "http_rule.hpp"
#include "json_response.hpp"
#include "problem.hpp"
#include "status_mapping.hpp"
#include "utf8.hpp"
#include "troupe/runtime/node.hpp"
#include "troupe/status.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;
namespace http = boost::beast::http;

namespace {

/// The request's field that holds the actor key: a singular string `key`,
/// as protoc-gen-troupe finds it. Null when the request has none.
const pb::FieldDescriptor* key_field(const pb::Descriptor& request) {
  const pb::FieldDescriptor* field = request.FindFieldByName("key");
  if (field == nullptr || field->is_repeated() || field->type() != pb::FieldDescriptor::TYPE_STRING)
    return nullptr;
  return field;
}

std::string quoted(std::string_view text) {
  return "\"" + printable_utf8(text, 64) + "\"";
}

} // namespace

call_forwarder::call_forwarder(runtime::node& node, const transcoder& codec)
  : node_(node), codec_(codec) {
}

void call_forwarder::serve_io_threads(std::size_t io_threads) {
  callers_.clear();
  for (std::size_t i = 0; i < io_threads; ++i)
    callers_.push_back(node_.make_caller());
}

void call_forwarder::forward(const forwarded_call& call, const request_context& context,
                             responder respond) const {
  if (context.draining) {
    auto res = problem_response(503, "the node is shutting down", call.instance);
    res.set(http::field::retry_after, "1");
    respond.send(std::move(res));
    return;
  }
  auto message = codec_.request_message(*call.method->input_type(), call.body_rule, call.parts);
  if (!message) {
    respond.send(problem_response(message.error().status, message.error().detail, call.instance));
    return;
  }

  runtime::envelope env;
  env.method = call.method->name();
  if (call.service->kind == runtime::service_kind::keyed) {
    // The key is the path's or the caller's when given, else the request's
    // key field. Given, it must be the field's too: an empty field is filled
    // here (the module's dispatch would otherwise copy the message to fill
    // it), and another key is refused as the module's dispatch would.
    pb::Message& request = **message;
    const pb::FieldDescriptor* field = key_field(*request.GetDescriptor());
    std::string scratch;
    const std::string& named =
      field != nullptr ? request.GetReflection()->GetStringReference(request, field, &scratch)
                       : scratch;
    if (call.key && !call.key->empty()) {
      env.key = *call.key;
      if (field != nullptr && named.empty()) {
        request.GetReflection()->SetString(&request, field, env.key);
      } else if (field != nullptr && named != env.key) {
        respond.send(problem_response(400,
                                      "field '" + field->name() + "' is " + quoted(named)
                                        + " but the call is for key " + quoted(env.key),
                                      call.instance));
        return;
      }
    } else {
      env.key = named;
    }
    if (env.key.empty()) {
      respond.send(problem_response(400, "the actor key is missing: give a non-empty 'key'",
                                    call.instance));
      return;
    }
  }
  if (!(*message)->IsInitialized()) {
    respond.send(problem_response(400, "the request lacks required fields",
                                  call.instance));
    return;
  }
  // The message is of the module's own generated class: the actor uses it
  // as it is, without a serialization here and a parse there.
  env.object = std::move(*message);
  env.traceparent = std::string{call.traceparent};
  env.idempotent = troupe::options::idempotent(call.method->options().GetExtension(troupe::http));
  env.deadline_unix_ns =
    std::chrono::duration_cast<std::chrono::nanoseconds>(context.deadline.time_since_epoch())
      .count();

  callers_.at(context.io_thread).call(call.service->name, std::move(env), [respond, codec = &codec_, output = call.method->output_type(),
                              instance = std::string{call.instance}](
                               runtime::reply_envelope reply) {
    // On an actor-system thread: only hand over; the JSON is printed on the
    // connection's I/O thread.
    respond.send_from_io_thread([codec, output, instance, reply = std::move(reply)] {
      auto code = status_code_from_int(reply.code);
      if (code != status_code::ok) {
        auto res = problem_response(http_status_for(code), reply.message, instance);
        if (reply.retry_after_ms > 0)
          res.set(http::field::retry_after, retry_after_seconds(reply.retry_after_ms));
        return res;
      }
      // Answered in the form asked: the module's response object, printed
      // as it is; bytes only from a module built without full reflection.
      const auto* object = dynamic_cast<const pb::Message*>(reply.object.get());
      auto json = object != nullptr && object->GetDescriptor() == output
                    ? codec->reply_json(*object)
                    : codec->reply_json(*output, reply.object != nullptr
                                                   ? reply.object->SerializeAsString()
                                                   : reply.payload);
      if (!json)
        return problem_response(json.error().status, json.error().detail, instance);
      return json_response(std::move(*json));
    });
  });
}

} // namespace troupe::gateway
