// Key-value storage of stateless services seen from outside, through HTTP
// with a real node and tests/modules/notes: ctx.kv() gets, puts, deletes,
// scans a prefix a bounded page at a time and commits atomic batches, in the
// service's own namespace (Drafts uses the same keys as Notes and sees none
// of them), durably across a restart; a service that declares no key-value
// storage is refused.
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

void put(std::uint16_t port, const std::string& service, const std::string& id,
         const std::string& text, int stars = 0) {
  auto r = http_call(port, "PUT", "/v1/" + service + "/" + id,
                     R"({"text": ")" + text + R"(", "stars": )" + std::to_string(stars) + "}");
  INFO("PUT " << service << "/" << id << ": " << r.body);
  REQUIRE(r.status == 200);
}

struct note {
  bool found = false;
  std::string text;
  std::int64_t version = 0;
};

note get(std::uint16_t port, const std::string& service, const std::string& id) {
  auto r = http_call(port, "GET", "/v1/" + service + "/" + id);
  INFO("GET " << service << "/" << id << ": " << r.body);
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  note n;
  if (const auto* found = find_field(doc, "found"))
    n.found = found->bool_value();
  if (const auto* body = find_field(doc, "note"))
    if (auto text = body->struct_value().fields().find("text");
        text != body->struct_value().fields().end())
      n.text = text->second.string_value();
  if (const auto* version = find_field(doc, "version"))
    n.version = static_cast<std::int64_t>(version->number_value());
  return n;
}

/// The ids of one scan page, and its `next`.
std::pair<std::vector<std::string>, std::string> scan(std::uint16_t port,
                                                      const std::string& service,
                                                      const std::string& query) {
  auto r = http_call(port, "GET", "/v1/" + service + query);
  INFO("GET " << service << query << ": " << r.body);
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  std::vector<std::string> ids;
  if (const auto* entries = find_field(doc, "entries"))
    for (const auto& e : entries->list_value().values())
      ids.push_back(e.struct_value().fields().at("id").string_value());
  const auto* next = find_field(doc, "next");
  return {ids, next ? next->string_value() : std::string{}};
}

} // namespace

TEST_CASE("kv: a stateless service gets, puts, versions and deletes keys through ctx.kv(), "
          "durably across a restart",
          "[kv]") {
  temp_dir data;
  {
    node_process node{{"--module", test_module("notes")}, {.data_dir = data.path()}};
    CHECK_FALSE(get(node.port(), "notes", "a").found);
    put(node.port(), "notes", "a", "first", 3);
    auto a = get(node.port(), "notes", "a");
    CHECK(a.found);
    CHECK(a.text == "first");
    CHECK(a.version == 1);
    put(node.port(), "notes", "a", "second");
    CHECK(get(node.port(), "notes", "a").version == 2);

    // A conditional put at a stale version is refused (409) and changes nothing.
    auto stale = http_call(node.port(), "POST", "/v1/notes/a:put-if",
                           R"({"note": {"text": "lost"}, "version": 1})");
    require_problem(stale, 409);
    CHECK(get(node.port(), "notes", "a").text == "second");
    auto fresh = http_call(node.port(), "POST", "/v1/notes/a:put-if",
                           R"({"note": {"text": "third"}, "version": 2})");
    CHECK(fresh.status == 200);

    put(node.port(), "notes", "gone", "soon");
    CHECK(http_call(node.port(), "DELETE", "/v1/notes/gone").status == 200);
    CHECK_FALSE(get(node.port(), "notes", "gone").found);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", test_module("notes")}, {.data_dir = data.path()}};
  auto a = get(again.port(), "notes", "a");
  CHECK(a.found);
  CHECK(a.text == "third");
  CHECK(a.version == 3);
  CHECK_FALSE(get(again.port(), "notes", "gone").found);
}

TEST_CASE("kv: a scan reads a prefix in key order, a bounded page at a time", "[kv]") {
  node_process node{{"--module", test_module("notes")}};
  for (const char* id : {"p3", "p1", "q1", "p5", "p2", "p4", "o9"})
    put(node.port(), "notes", id, id);

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto [ids, next] = scan(node.port(), "notes", "?prefix=p&limit=2&after=" + after);
    CHECK(ids.size() <= 2);
    seen.insert(seen.end(), ids.begin(), ids.end());
    if (next.empty())
      break;
    after = next;
  }
  CHECK(pages == 2);  // p1 p2 | p3 p4 | p5
  CHECK(seen == std::vector<std::string>{"p1", "p2", "p3", "p4", "p5"});

  auto [all, next] = scan(node.port(), "notes", "?limit=100");
  CHECK(all.size() == 7);
  CHECK(next.empty());

  // A page past the bound is refused, not cut short silently.
  require_problem(http_call(node.port(), "GET", "/v1/notes?limit=1001"), 400);
}

TEST_CASE("kv: a batch writes several keys atomically: a failed condition writes none",
          "[kv]") {
  node_process node{{"--module", test_module("notes")}};
  // Keys are bytes, base64 in JSON: note/b1, note/b2, note/b3.
  auto refused = http_call(node.port(), "POST", "/v1/notes:batch",
                           R"({"puts": [{"key": "bm90ZS9iMQ=="}, {"key": "bm90ZS9iMg=="}],
                               "ifKey": "bm90ZS9iMw==", "ifVersion": 4})");
  require_problem(refused, 409);
  CHECK_FALSE(get(node.port(), "notes", "b1").found);
  CHECK_FALSE(get(node.port(), "notes", "b2").found);
  CHECK_FALSE(get(node.port(), "notes", "b3").found);

  auto done = http_call(node.port(), "POST", "/v1/notes:batch",
                        R"({"puts": [{"key": "bm90ZS9iMQ=="}, {"key": "bm90ZS9iMg=="}],
                            "ifKey": "bm90ZS9iMw==", "ifVersion": 0})");
  CHECK(done.status == 200);
  CHECK(get(node.port(), "notes", "b1").found);
  CHECK(get(node.port(), "notes", "b2").found);
  CHECK(get(node.port(), "notes", "b3").found);

  auto erased = http_call(node.port(), "POST", "/v1/notes:batch",
                          R"({"erases": ["bm90ZS9iMQ==", "bm90ZS9iMg=="]})");
  CHECK(erased.status == 200);
  CHECK_FALSE(get(node.port(), "notes", "b1").found);
  CHECK_FALSE(get(node.port(), "notes", "b2").found);
  CHECK(get(node.port(), "notes", "b3").found);
}

TEST_CASE("kv: each service has its own namespace: one cannot read or change another's keys",
          "[kv]") {
  temp_dir data;
  {
    node_process node{{"--module", test_module("notes")}, {.data_dir = data.path()}};
    put(node.port(), "notes", "shared", "of notes");
    CHECK_FALSE(get(node.port(), "drafts", "shared").found);
    auto [none, n1] = scan(node.port(), "drafts", "?limit=100");
    CHECK(none.empty());

    put(node.port(), "drafts", "shared", "of drafts");
    CHECK(get(node.port(), "drafts", "shared").text == "of drafts");
    CHECK(get(node.port(), "drafts", "shared").version == 1);
    auto notes = get(node.port(), "notes", "shared");
    CHECK(notes.text == "of notes");
    CHECK(notes.version == 1);
    REQUIRE(node.terminate() == 0);
  }
  node_process again{{"--module", test_module("notes")}, {.data_dir = data.path()}};
  CHECK(get(again.port(), "notes", "shared").text == "of notes");
  CHECK(get(again.port(), "drafts", "shared").text == "of drafts");
  auto [drafts, n2] = scan(again.port(), "drafts", "?limit=100");
  CHECK(drafts == std::vector<std::string>{"shared"});
}

TEST_CASE("kv: a service that declares no key-value storage is refused, naming the option",
          "[kv]") {
  node_process node{{"--module", test_module("notes")}};
  auto r = http_call(node.port(), "POST", "/admin/v1/services/test.notes.v1.Plain/methods/Try:call",
                     R"({"id": "x"})");
  auto p = require_problem(r, 400);
  CHECK(contains(p.detail, "declares no key-value storage"));
}
