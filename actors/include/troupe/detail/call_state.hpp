// The runtime's side of one call as the SDK sees it. Implemented by the node
// (runtime/src/served_call.cpp); module code reaches it only through
// troupe::call_context and the code protoc-gen-troupe generates.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/kv_types.hpp"
#include "troupe/status.hpp"

namespace google::protobuf {
class MessageLite;
} // namespace google::protobuf

namespace troupe::detail {

/// The response to a call a handler made: its bytes, or the object itself
/// when the callee is in this process.
struct raw_response {
  std::string payload;
  std::shared_ptr<const google::protobuf::MessageLite> object;
};

/// Gets the response (or the error) of a call a handler made.
using raw_callback = std::function<void(status, raw_response)>;

/// One call being served.
///
/// Most handlers answer before they return, so the runtime serves a call from
/// a state that lives only as long as the handler runs and allocates nothing.
/// Whatever must outlive the handler — a promise, a copy of the call_context,
/// a call to another service — takes a share(): the state then moves to the
/// heap, shared by everything that holds it, and the last holder to go answers
/// `internal` if the call was never answered, so a dropped promise never
/// leaves a caller waiting.
class call_state {
public:
  /// The fully qualified name of the service being called.
  virtual const std::string& service() const noexcept = 0;
  virtual const std::string& method() const noexcept = 0;
  /// The actor key of a keyed service; empty for stateless services.
  virtual const std::string& key() const noexcept = 0;
  /// The authenticated caller; empty for anonymous calls.
  virtual const std::string& principal() const noexcept = 0;
  /// W3C trace context of the call ("traceparent" header value).
  virtual const std::string& traceparent() const noexcept = 0;
  virtual std::chrono::system_clock::time_point deadline() const noexcept = 0;

  /// Which actor serves the call, e.g. "node-1/demo.greeter.v1.Greeter#2".
  virtual const std::string& instance() const noexcept = 0;

  virtual const std::string& node() const noexcept = 0;

  /// The request as the caller handed it over, when the caller is in this
  /// process and sent the object itself; null when it sent bytes. A call
  /// answers in the form it was asked in: with ok_object() when this is set,
  /// with ok() otherwise.
  virtual const google::protobuf::MessageLite* request_object() const noexcept = 0;

  /// Answers the call. Exactly one of ok(), ok_object() or fail() takes
  /// effect; later ones are ignored.
  virtual void ok(std::string payload) = 0;
  virtual void ok_object(std::shared_ptr<const google::protobuf::MessageLite> response) = 0;
  virtual void fail(status error) = 0;

  /// True once the call is answered.
  virtual bool done() const noexcept = 0;

  /// Sends `request` to another service from the actor serving this call.
  /// The object itself goes to a callee in this process, its bytes to one
  /// elsewhere. `done` runs later on that actor, never concurrently with its
  /// handlers.
  virtual void call_raw(std::string_view service, std::string_view method,
                        std::string_view key,
                        std::shared_ptr<const google::protobuf::MessageLite> request,
                        std::chrono::system_clock::time_point deadline,
                        raw_callback done)
    = 0;

  // -- key-value storage of a STATELESS service (troupe/key_value.hpp) -------
  //
  // Each operation works in the serving service's own namespace of the
  // node's state store, without blocking the actor's thread: `done` runs
  // later on the actor serving this call, never concurrently with its
  // handlers, and not at all when the service object that asked was
  // restarted in between. A service that declares no key-value storage gets
  // failed_precondition.

  /// Reads `key`; an entry of version 0 when it is absent.
  virtual void kv_get(std::string key, kv_get_callback done) = 0;

  /// Reads the keys that start with `prefix`, in order, after `after`, at
  /// most `limit` of them.
  virtual void kv_scan(std::string prefix, std::string after, std::uint32_t limit,
                       kv_scan_callback done)
    = 0;

  /// Writes `ops` atomically: all of them or, with an error, none.
  virtual void kv_write(std::vector<kv_op> ops, kv_write_callback done) = 0;

  /// Where generated dispatch code keeps the request message of method
  /// number `method_index` between calls, empty the first time. Protobuf
  /// keeps a cleared message's memory, so a reused request parses without
  /// allocating. The actor serving the call owns the slot and runs one handler
  /// at a time: a handler's request is valid until the handler returns.
  virtual std::unique_ptr<google::protobuf::MessageLite>& request_slot(int method_index)
    = 0;

  /// A shared owner of this call that may outlive the handler. Called on the
  /// actor serving the call, while its handler runs or later.
  virtual std::shared_ptr<call_state> share() = 0;

protected:
  // Owned by the runtime: a handler's frame or a shared_ptr from share().
  ~call_state() = default;
};

} // namespace troupe::detail
