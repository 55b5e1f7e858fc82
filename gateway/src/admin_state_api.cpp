// The admin API's state store endpoints (admin_api.hpp lists them). They
// reach the store through runtime::node::state(), the runtime's seam, and
// answer from the store's callbacks, which run on the store's threads: the
// JSON is printed on the connection's I/O thread (send_from_io_thread), and
// nothing here waits for the store.
//
// Deleting the state of a key whose actor is active: the activation keeps
// what it holds in memory, but its next write names the version it replaces,
// which is gone, so the store refuses it (aborted): that call is answered 503
// and not acknowledged, and the key starts over from what is stored —
// nothing. The deletion is never written over; an active key may answer
// reads from memory until its next write or its passivation.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "admin_api.hpp"
#include "call_forwarder.hpp"
#include "json_response.hpp"
#include "problem.hpp"
#include "status_mapping.hpp"
#include "transcoder.hpp"
#include "utf8.hpp"
#include "troupe/admin.pb.h"
#include "troupe/runtime/node.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;
namespace admin_pb = troupe::admin::v1;

namespace {

const std::string* bound(const path_bindings& bindings, std::string_view name) {
  for (const auto& [field, value] : bindings)
    if (field == name)
      return &value;
  return nullptr;
}

/// The response for `stored`, to be made on an I/O thread: the StoredState
/// resource with the state message as its last member, "state", printed as
/// the codec prints a reply; 500 when the bytes are not a message of the
/// service's state type. Protobuf's JSON mapping cannot print it as a
/// field: an Any would drop the fields that hold their default (a counter
/// at 0 would show no value).
std::function<http_response()> print_stored_state(const transcoder& codec,
                                                  const runtime::service_entry& service,
                                                  std::string key, std::string instance,
                                                  runtime::stored_state stored) {
  return [&codec, &service, key = std::move(key), instance = std::move(instance),
          stored = std::move(stored)] {
    auto state = codec.reply_json(*service.state_type, stored.bytes);
    if (!state)
      return problem_response(500,
                              "the state stored for key '" + printable_utf8(key)
                                + "' is not a valid " + service.state_type->full_name(),
                              instance);
    admin_pb::StoredState head;
    head.set_service(service.name);
    head.set_key(key);
    head.set_version(stored.version);
    head.set_type(service.state_type->full_name());
    pb::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string body;
    if (!pb::util::MessageToJsonString(head, &body, options).ok() || !body.ends_with('}'))
      return problem_response(500, "the resource could not be printed", instance);
    body.pop_back();
    body += R"(,"state":)";
    body += *state;
    body += '}';
    return json_response(std::move(body));
  };
}

http_response status_problem(const status& st, std::string_view instance) {
  return problem_response(http_status_for(st.code()), st.message(), instance);
}

/// The files under `dir` and their bytes (a hard link counts in full).
std::pair<std::uint64_t, std::uint64_t> files_and_bytes(const std::filesystem::path& dir) {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator{dir, ec};
       !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto size = it->file_size(size_ec);
      ++files;
      if (!size_ec)
        bytes += size;
    }
  }
  return {files, bytes};
}

} // namespace

const runtime::service_entry* admin_api::find_state(const admin_request& request,
                                                    const responder& respond,
                                                    std::string& key) const {
  const auto* service = find_service(request, respond);
  if (service == nullptr)
    return nullptr;
  if (service->state_type == nullptr) {
    respond.send(problem_response(404,
                                  "service '" + service->name + "' declares no state",
                                  request.path));
    return nullptr;
  }
  const std::string* bound_key = bound(request.bindings, "key");
  if (bound_key == nullptr || bound_key->empty()) {
    respond.send(problem_response(400, "the key must not be empty", request.path));
    return nullptr;
  }
  if (!is_valid_utf8(*bound_key)) {
    // No call could have stored state under it: keys are UTF-8 text.
    respond.send(problem_response(400, "the key is not valid UTF-8", request.path));
    return nullptr;
  }
  key = *bound_key;
  return service;
}

void admin_api::get_state(const admin_request& request, responder respond) const {
  std::string key;
  const auto* service = find_state(request, respond, key);
  if (service == nullptr)
    return;
  node_.state().load(
    service->name, key,
    [&codec = forwarder_.codec(), service, key, instance = std::string{request.path},
     respond](status result, runtime::stored_state stored) mutable {
      if (!result.is_ok()) {
        respond.send(status_problem(result, instance));
      } else if (stored.version == 0) {
        respond.send(problem_response(404,
                                      "no state stored for key '" + printable_utf8(key)
                                        + "' of service '" + service->name + "'",
                                      instance));
      } else {
        respond.send_from_io_thread(print_stored_state(codec, *service, std::move(key),
                                                       std::move(instance), std::move(stored)));
      }
    });
}

void admin_api::delete_state(const admin_request& request, responder respond) const {
  std::string key;
  const auto* service = find_state(request, respond, key);
  if (service == nullptr)
    return;
  // Read first, to answer what was deleted (and 404 when nothing was); the
  // erase removes whatever is stored by the time it runs.
  auto& store = node_.state();
  auto& log = node_.log();
  store.load(
    service->name, key,
    [&store, &log, &codec = forwarder_.codec(), service, key, instance = std::string{request.path},
     client = std::string{request.context.client_address},
     respond](status result, runtime::stored_state stored) mutable {
      if (!result.is_ok()) {
        respond.send(status_problem(result, instance));
        return;
      }
      if (stored.version == 0) {
        respond.send(problem_response(404,
                                      "no state stored for key '" + printable_utf8(key)
                                        + "' of service '" + service->name + "'",
                                      instance));
        return;
      }
      store.erase(service->name, key,
                  [&log, &codec, service, key, instance = std::move(instance),
                   client = std::move(client),
                   respond, stored = std::move(stored)](status erased) mutable {
                    if (!erased.is_ok()) {
                      respond.send(status_problem(erased, instance));
                      return;
                    }
                    log.warn("state deleted through the admin API",
                             {{"troupe.service", service->name},
                              {"troupe.key", key},
                              {"troupe.state.version", stored.version},
                              {"client.address", client}});
                    respond.send_from_io_thread(print_stored_state(
                      codec, *service, std::move(key), std::move(instance), std::move(stored)));
                  });
    });
}

void admin_api::backup(const admin_request& request, responder respond) const {
  admin_pb::BackupRequest body;
  const auto& text = request.http.body();
  if (auto parsed = pb::util::JsonStringToMessage(text, &body); !parsed.ok()) {
    respond.send(problem_response(
      400, "the body must be a JSON object {\"dir\": \"/absolute/path\"}: "
             + printable_utf8(parsed.ToString()),
      request.path));
    return;
  }
  std::filesystem::path dir{body.dir()};
  if (body.dir().empty()) {
    respond.send(problem_response(
      400, "\"dir\" is required: the directory to write the backup into", request.path));
    return;
  }
  if (!dir.is_absolute()) {
    respond.send(problem_response(
      400, "\"dir\" must be an absolute path on the node's machine, not '"
             + printable_utf8(body.dir()) + "'",
      request.path));
    return;
  }
  dir = dir.lexically_normal();
  if (!dir.has_filename())
    dir = dir.parent_path();  // "/backups/one/" names "/backups/one"
  auto& log = node_.log();
  auto started = std::chrono::steady_clock::now();
  auto client = std::string{request.context.client_address};
  node_.state().checkpoint(
    dir.string(), [&log, dir, started, client, instance = std::string{request.path},
          respond](status result) {
      if (!result.is_ok()) {
        log.warn("state backup failed", {{"file.path", dir.string()},
                                         {"client.address", client},
                                         {"error.message", result.message()}});
        respond.send(status_problem(result, instance));
        return;
      }
      auto [files, bytes] = files_and_bytes(dir);
      auto took = std::chrono::steady_clock::now() - started;
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(took);
      log.info("state backup written",
               {{"file.path", dir.string()},
                {"file.size", bytes},
                {"event.duration",
                 std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()},
                {"client.address", client}});
      admin_pb::Backup answer;
      answer.set_dir(dir.string());
      answer.set_bytes(bytes);
      answer.set_files(static_cast<std::uint32_t>(files));
      answer.set_elapsed_ms(static_cast<std::uint32_t>(elapsed.count()));
      respond.send(json_response(answer));
    });
}

} // namespace troupe::gateway
