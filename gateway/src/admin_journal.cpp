#include "admin_journal.hpp"

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "json_response.hpp"
#include "problem.hpp"
#include "status_mapping.hpp"
#include "troupe/admin_journal.pb.h"
#include "troupe/runtime/node.hpp"
#include "troupe/runtime/service_table.hpp"
#include "troupe/runtime/state_store.hpp"

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

std::optional<std::uint64_t> positive_number(const std::string& text) {
  std::uint64_t value = 0;
  auto end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value == 0)
    return std::nullopt;
  return value;
}

/// `bytes`, a serialized `type`, as its JSON mapping (every field shown) in
/// a Struct; false when it does not parse.
bool to_struct(const pb::Descriptor& type, const std::string& bytes, pb::Struct& out) {
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(&type);
  if (prototype == nullptr)
    return false;
  std::unique_ptr<pb::Message> message{prototype->New()};
  if (!message->ParseFromString(bytes))
    return false;
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!pb::util::MessageToJsonString(*message, &json, options).ok())
    return false;
  return pb::util::JsonStringToMessage(json, &out).ok();
}

struct journal_query {
  std::uint64_t from = 1;
  std::size_t limit = admin_journal_default_limit;
};

/// The query's `from` and `limit`; nullopt, with a 400 sent, when one is bad.
std::optional<journal_query> read_query(const admin_request& request, const responder& respond) {
  journal_query q;
  for (const auto& param : request.query) {
    auto value = positive_number(param.value);
    if (param.name == "from" && value) {
      q.from = *value;
    } else if (param.name == "limit" && value && *value <= admin_journal_max_limit) {
      q.limit = static_cast<std::size_t>(*value);
    } else {
      std::string detail =
        param.name == "from"    ? "query parameter 'from' must be an event number, 1 or more"
        : param.name == "limit" ? "query parameter 'limit' must be 1 to "
                                    + std::to_string(admin_journal_max_limit)
                                : "unknown query parameter '" + param.name
                                    + "' (the journal takes 'from' and 'limit')";
      respond.send(problem_response(400, detail, request.path));
      return std::nullopt;
    }
  }
  return q;
}

void send_failure(const responder& respond, const status& st, const std::string& instance) {
  respond.send(problem_response(http_status_for(st.code()),
                                "the state store could not read the journal: " + st.message(),
                                instance));
}

} // namespace

void serve_journal(runtime::node& node, const admin_request& request, responder respond) {
  const std::string* name = bound(request.bindings, "name");
  const std::string* key = bound(request.bindings, "key");
  const runtime::service_entry* service = name ? node.services().find(*name) : nullptr;
  std::string instance{request.path};
  if (service == nullptr || key == nullptr) {
    respond.send(problem_response(
      404, "no service named '" + (name ? *name : std::string{}) + "' on this node", instance));
    return;
  }
  if (service->event_type == nullptr || service->state_type == nullptr) {
    respond.send(problem_response(404,
                                  "service '" + service->name
                                    + "' keeps no event journal (state.journal in its "
                                      "(troupe.service) options)",
                                  instance));
    return;
  }
  auto query = read_query(request, respond);
  if (!query)
    return;
  auto page = std::make_shared<admin_pb::JournalPage>();
  page->set_service(service->name);
  page->set_key(*key);
  page->set_state_type(service->state_type->full_name());
  page->set_event_type(service->event_type->full_name());
  page->set_snapshot_every(service->snapshot_every);
  page->set_truncates(service->truncate_journal);
  page->set_from(query->from);
  auto& store = node.state();
  // The snapshot first, then the events: a snapshot taken in between shows
  // events this page also lists, which is harmless for a reader.
  store.load(
    service->name, *key,
    [&store, service, key = *key, q = *query, page, respond,
     instance](status st, runtime::stored_state snapshot) mutable {
      if (!st.is_ok()) {
        send_failure(respond, st, instance);
        return;
      }
      store.read_events(
        service->name, key, q.from, q.limit,
        [service, page, respond, instance, snapshot = std::move(snapshot)](
          status st, runtime::journal_page events) mutable {
          if (!st.is_ok()) {
            send_failure(respond, st, instance);
            return;
          }
          respond.send_from_io_thread([service, page, instance, snapshot = std::move(snapshot),
                                       events = std::move(events)]() -> http_response {
            if (snapshot.version != 0) {
              auto* s = page->mutable_snapshot();
              s->set_seq(snapshot.version);
              if (!to_struct(*service->state_type, snapshot.bytes, *s->mutable_state()))
                return problem_response(500, "the stored snapshot is not a valid "
                                               + service->state_type->full_name(),
                                        instance);
            }
            for (const auto& e : events.events) {
              auto* out = page->add_events();
              out->set_seq(e.seq);
              if (!to_struct(*service->event_type, e.bytes, *out->mutable_event()))
                return problem_response(500,
                                        "event " + std::to_string(e.seq)
                                          + " is not a valid " + service->event_type->full_name(),
                                        instance);
            }
            if (events.more && !events.events.empty())
              page->set_next_from(events.events.back().seq + 1);
            return json_response(*page);
          });
        });
    });
}

} // namespace troupe::gateway
