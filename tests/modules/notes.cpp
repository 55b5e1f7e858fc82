// test.notes.v1.Notes and Drafts: stateless services keeping notes in their
// key-value storage through ctx.kv(); test.notes.v1.Plain, one without.
#include "notes.troupe.h"

namespace {

using namespace test::notes::v1;

std::string note_key(const std::string& id) {
  return "note/" + id;
}

/// Answers `answer` with `e`, the error of a key-value operation.
template <class Response>
auto fail_with(troupe::promise<Response> answer) {
  return [answer](troupe::status e) { answer.deliver(std::move(e)); };
}

/// Put, Get and Scan of notes, for Notes and Drafts.
template <class Base>
class note_keeper : public Base {
public:
  troupe::reply<Empty> Put(troupe::call_context& ctx, const NoteRequest& request) override {
    auto answer = ctx.make_promise<Empty>();
    ctx.kv().put(note_key(request.id()), request.note())
      .then([answer] { answer.deliver(Empty{}); }, fail_with(answer));
    return answer;
  }

  troupe::reply<NoteReply> Get(troupe::call_context& ctx, const IdRequest& request) override {
    auto answer = ctx.make_promise<NoteReply>();
    ctx.kv().get(note_key(request.id()))
      .then(
        [answer](std::optional<troupe::kv_entry> entry) {
          NoteReply reply;
          if (entry) {
            auto note = entry->as<Note>();
            if (!note) {
              answer.deliver(troupe::status{troupe::status_code::data_loss, "not a note"});
              return;
            }
            reply.set_found(true);
            *reply.mutable_note() = *note;
            reply.set_version(static_cast<std::uint32_t>(entry->version));
          }
          answer.deliver(reply);
        },
        fail_with(answer));
    return answer;
  }

  troupe::reply<ScanReply> Scan(troupe::call_context& ctx, const ScanRequest& request) override {
    auto answer = ctx.make_promise<ScanReply>();
    troupe::kv_scan_options options;
    options.after = request.after().empty() ? std::string{} : note_key(request.after());
    options.limit = request.limit() == 0 ? 100 : request.limit();
    ctx.kv().scan(note_key(request.prefix()), options)
      .then(
        [answer](troupe::kv_page page) {
          ScanReply reply;
          for (const auto& entry : page.entries) {
            auto* out = reply.add_entries();
            out->set_id(entry.key.substr(5));
            if (auto note = entry.as<Note>())
              *out->mutable_note() = *note;
            out->set_version(static_cast<std::uint32_t>(entry.version));
          }
          if (!page.next.empty())
            reply.set_next(page.next.substr(5));
          answer.deliver(reply);
        },
        fail_with(answer));
    return answer;
  }
};

class NotesService : public note_keeper<NotesBase> {
public:
  troupe::reply<Empty> PutIf(troupe::call_context& ctx, const PutIfRequest& request) override {
    auto answer = ctx.make_promise<Empty>();
    ctx.kv().put_if(note_key(request.id()), request.note(), request.version())
      .then([answer] { answer.deliver(Empty{}); }, fail_with(answer));
    return answer;
  }

  troupe::reply<Empty> Delete(troupe::call_context& ctx, const IdRequest& request) override {
    auto answer = ctx.make_promise<Empty>();
    ctx.kv().erase(note_key(request.id()))
      .then([answer] { answer.deliver(Empty{}); }, fail_with(answer));
    return answer;
  }

  troupe::reply<Empty> Batch(troupe::call_context& ctx, const BatchRequest& request) override {
    auto batch = ctx.kv().batch();
    for (const auto& put : request.puts())
      batch.put(put.key(), put.value());
    for (const auto& key : request.erases())
      batch.erase(key);
    if (!request.if_key().empty())
      batch.put_if(request.if_key(), request.if_value(), request.if_version());
    auto answer = ctx.make_promise<Empty>();
    std::move(batch).commit().then([answer] { answer.deliver(Empty{}); }, fail_with(answer));
    return answer;
  }

  troupe::reply<RawValue> GetRaw(troupe::call_context& ctx, const RawKey& request) override {
    auto answer = ctx.make_promise<RawValue>();
    ctx.kv().get(request.key())
      .then(
        [answer](std::optional<troupe::kv_entry> entry) {
          RawValue reply;
          if (entry) {
            reply.set_found(true);
            reply.set_value(entry->value);
            reply.set_version(static_cast<std::uint32_t>(entry->version));
          }
          answer.deliver(reply);
        },
        fail_with(answer));
    return answer;
  }

  troupe::reply<ScanReply> ScanRaw(troupe::call_context& ctx, const RawScan& request) override {
    auto answer = ctx.make_promise<ScanReply>();
    ctx.kv().scan(request.prefix(), {request.after(), request.limit()})
      .then(
        [answer](troupe::kv_page page) {
          ScanReply reply;
          for (const auto& entry : page.entries) {
            auto* out = reply.add_entries();
            out->set_id(entry.key);
            out->set_version(static_cast<std::uint32_t>(entry.version));
          }
          reply.set_next(page.next);
          answer.deliver(reply);
        },
        fail_with(answer));
    return answer;
  }

  troupe::reply<Empty> Ping(troupe::call_context&, const IdRequest&) override {
    return Empty{};
  }
};

class DraftsService : public note_keeper<DraftsBase> {};

class PlainService : public PlainBase {
public:
  troupe::reply<Empty> Try(troupe::call_context& ctx, const IdRequest& request) override {
    auto answer = ctx.make_promise<Empty>();
    ctx.kv().get(request.id()).then([answer](auto) { answer.deliver(Empty{}); },
                                    fail_with(answer));
    return answer;
  }
};

} // namespace

TROUPE_MODULE("notes", "1.0.0") {
  registrar.add_service<NotesService>();
  registrar.add_service<DraftsService>();
  registrar.add_service<PlainService>();
}
