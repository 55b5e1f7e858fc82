// Schema evolution: check_schema_compatible field by field, and
// open_namespace refusing a state message that cannot read what is stored.
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "persistence/src/schema_records.hpp"
#include "store_support.hpp"
#include "troupe/persistence/schema_check.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status_code;

namespace {

struct parse_errors : google::protobuf::io::ErrorCollector {
  void AddError(int line, int column, const std::string& message) override {
    text += std::to_string(line) + ":" + std::to_string(column) + ": " + message + "\n";
  }
  std::string text;
};

/// The schema of `type` declared in `proto` (one file, no imports).
state_schema schema(const std::string& proto, const std::string& type = "t.State") {
  google::protobuf::io::ArrayInputStream input{proto.data(), static_cast<int>(proto.size())};
  parse_errors errors;
  google::protobuf::io::Tokenizer tokenizer{&input, &errors};
  google::protobuf::compiler::Parser parser;
  google::protobuf::FileDescriptorProto file;
  bool parsed = parser.Parse(&tokenizer, &file);
  INFO(errors.text);
  REQUIRE(parsed);
  file.set_name("state.proto");
  google::protobuf::FileDescriptorSet set;
  *set.add_file() = file;
  return {type, set.SerializeAsString()};
}

std::string proto3(const std::string& body) {
  return "syntax = \"proto3\"; package t; " + body;
}

troupe::status check(const std::string& stored, const std::string& next) {
  return check_schema_compatible(schema(proto3(stored)), schema(proto3(next)));
}

} // namespace

TEST_CASE("a state message that adds or removes or renames fields reads what is stored",
          "[persistence][schema]") {
  auto v1 = "message State { int64 count = 1; string owner = 2; }";
  CHECK(check(v1, v1).is_ok());
  CHECK(check(v1, "message State { int64 count = 1; string owner = 2; repeated string tags = 3; }")
          .is_ok());
  CHECK(check(v1, "message State { int64 count = 1; }").is_ok());
  CHECK(check(v1, "message State { int64 total = 1; string owner_name = 2; }").is_ok());
  CHECK(check(v1, "message Renamed { int64 count = 1; string owner = 2; }")
          .code() == status_code::invalid_argument);  // looked up by the name given
  CHECK(check_schema_compatible(schema(proto3(v1)),
                                schema(proto3("message Renamed { int64 count = 1; }"), "t.Renamed"))
          .is_ok());
}

TEST_CASE("a field whose type changed so that stored values read differently is refused",
          "[persistence][schema]") {
  auto st = check("message State { int64 count = 1; }", "message State { string count = 1; }");
  CHECK(st.code() == status_code::failed_precondition);
  CHECK(st.message()
        == "state field State.count (number 1) changed type from int64 to string; state stored "
           "as t.State cannot be read");

  // Narrowing, or reinterpreting the same bits.
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
         {"int64", "int32"}, {"uint64", "uint32"}, {"int32", "uint32"}, {"int32", "sint32"},
         {"fixed32", "sfixed32"}, {"fixed64", "double"}, {"float", "double"}, {"bytes", "string"},
         {"int32", "bool"}, {"string", "Inner"}}) {
    INFO(from << " -> " << to);
    auto r = check("message Inner { int32 x = 1; } message State { " + from + " f = 4; }",
                   "message Inner { int32 x = 1; } message State { " + to + " f = 4; }");
    CHECK(r.code() == status_code::failed_precondition);
    CHECK_THAT(r.message(), Catch::Contains("State.f (number 4)"));
  }
  // Widening that keeps every stored value.
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
         {"int32", "int64"}, {"uint32", "uint64"}, {"uint32", "int64"}, {"sint32", "sint64"},
         {"bool", "int32"}, {"bool", "uint64"}, {"string", "bytes"}, {"Color", "int32"},
         {"int32", "Color"}}) {
    INFO(from << " -> " << to);
    CHECK(check("enum Color { RED = 0; } message State { " + from + " f = 4; }",
                "enum Color { RED = 0; } message State { " + to + " f = 4; }")
            .is_ok());
  }
}

TEST_CASE("a field number reused with another type is refused naming the new field",
          "[persistence][schema]") {
  auto st = check("message State { int64 count = 1; string note = 2; }",
                  "message State { int64 count = 1; double ratio = 2; }");
  CHECK(st.code() == status_code::failed_precondition);
  CHECK_THAT(st.message(), Catch::Contains("State.ratio (number 2) changed type from string to double"));
}

TEST_CASE("repeated made singular is refused and singular made repeated is not",
          "[persistence][schema]") {
  auto st = check("message State { repeated string items = 1; }", "message State { string items = 1; }");
  CHECK(st.code() == status_code::failed_precondition);
  CHECK_THAT(st.message(), Catch::Contains("State.items (number 1) was repeated"));
  CHECK(check("message State { string items = 1; }", "message State { repeated string items = 1; }")
          .is_ok());
  CHECK(check("message State { int32 n = 1; }", "message State { repeated int32 n = 1; }").is_ok());
}

TEST_CASE("nested messages and maps are checked by the same rules", "[persistence][schema]") {
  auto nested = check("message Item { int32 qty = 1; } message State { Item item = 1; }",
                      "message Item { string qty = 1; } message State { Item item = 1; }");
  CHECK(nested.code() == status_code::failed_precondition);
  CHECK_THAT(nested.message(), Catch::StartsWith("state field State.item.qty (number 1)"));
  CHECK(check("message Item { int32 qty = 1; } message State { Item item = 1; }",
              "message Item { int64 qty = 1; string sku = 2; } message State { Item item = 1; }")
          .is_ok());

  auto map = check("message State { map<string, int32> counts = 1; }",
                   "message State { map<string, string> counts = 1; }");
  CHECK(map.code() == status_code::failed_precondition);
  CHECK_THAT(map.message(), Catch::Contains("State.counts.value (number 2)"));
  CHECK(check("message State { map<string, int32> counts = 1; }",
              "message State { map<string, int64> counts = 1; }")
          .is_ok());

  // A type that contains itself is compared once.
  CHECK(check("message State { State next = 1; int32 v = 2; }",
              "message State { State next = 1; int64 v = 2; }")
          .is_ok());
  CHECK(check("message State { State next = 1; int32 v = 2; }",
              "message State { State next = 1; string v = 2; }")
          .code() == status_code::failed_precondition);
}

TEST_CASE("required fields and closed enums that would reject stored state are refused",
          "[persistence][schema]") {
  auto p2 = [](const std::string& body) { return "syntax = \"proto2\"; package t; " + body; };
  auto added = check_schema_compatible(schema(p2("message State { optional int32 a = 1; }")),
                                       schema(p2("message State { optional int32 a = 1; "
                                                 "required int32 b = 2; }")));
  CHECK(added.code() == status_code::failed_precondition);
  CHECK_THAT(added.message(), Catch::Contains("State.b (number 2) is required and new"));
  auto made = check_schema_compatible(schema(p2("message State { optional int32 a = 1; }")),
                                      schema(p2("message State { required int32 a = 1; }")));
  CHECK(made.code() == status_code::failed_precondition);
  CHECK_THAT(made.message(), Catch::Contains("became required"));

  auto closed = check_schema_compatible(
    schema(p2("message State { optional int32 c = 1; }")),
    schema(p2("enum Color { RED = 0; } message State { optional Color c = 1; }")));
  CHECK(closed.code() == status_code::failed_precondition);
}

TEST_CASE("schemas that do not parse are invalid arguments", "[persistence][schema]") {
  auto good = schema(proto3("message State { int32 a = 1; }"));
  auto r = check_schema_compatible({"t.State", "not a descriptor set"}, good);
  CHECK(r.code() == status_code::invalid_argument);
  CHECK_THAT(r.message(), Catch::StartsWith("the stored state schema cannot be read"));
  r = check_schema_compatible(good, {"t.Missing", good.descriptors});
  CHECK(r.code() == status_code::invalid_argument);
  CHECK_THAT(r.message(), Catch::Contains("no message type t.Missing"));
}

TEST_CASE("schema_of gives a compiled type's files with their imports", "[persistence][schema]") {
  auto s = schema_of(*google::protobuf::FileDescriptorProto::descriptor());
  CHECK(s.type_name == "google.protobuf.FileDescriptorProto");
  CHECK(check_schema_compatible(s, s).is_ok());
  google::protobuf::FileDescriptorSet set;
  REQUIRE(set.ParseFromString(s.descriptors));
  CHECK(set.file(0).name() == "google/protobuf/descriptor.proto");
}

namespace {

troupe::runtime::namespace_options with_schema(const state_schema& s) {
  troupe::runtime::namespace_options o;
  o.state_type = s.type_name;
  o.state_descriptors = s.descriptors;
  return o;
}

std::size_t stored_schemas(rocksdb_store::impl& store, std::string_view service) {
  std::vector<stored_schema> out;
  auto* meta = store.db->family("meta");
  auto access = store.db->use();
  REQUIRE(read_schemas(*access, meta->handle, service, out).is_ok());
  return out.size();
}

} // namespace

TEST_CASE("open_namespace refuses a state message that cannot read what is stored",
          "[persistence][schema]") {
  temp_dir dir;
  auto v1 = schema(proto3("message State { int64 count = 1; }"));
  auto v2 = schema(proto3("message State { int64 count = 1; string owner = 2; }"));
  auto bad = schema(proto3("message State { string count = 1; string owner = 2; }"));
  {
    rocksdb_store store{dir.path()};
    REQUIRE(store.open_namespace("svc", with_schema(v1)).is_ok());
    REQUIRE(save(store, "svc", "k", 0, "\x08\x2a").is_ok());
  }
  {
    auto opened = rocksdb_store::impl::open(dir.path(), {});
    auto* internals = opened.get();
    rocksdb_store store{std::move(opened)};
    REQUIRE(store.open_namespace("svc", with_schema(v2)).is_ok());
    REQUIRE(store.open_namespace("svc", with_schema(v2)).is_ok());  // the same: not stored twice
    CHECK(stored_schemas(*internals, "svc") == 2);
    // Without a schema, nothing is checked.
    REQUIRE(store.open_namespace("svc", {}).is_ok());
  }
  rocksdb_store store{dir.path()};
  auto st = store.open_namespace("svc", with_schema(bad));
  CHECK(st.code() == status_code::failed_precondition);
  CHECK(st.message()
        == "service svc: state field State.count (number 1) changed type from int64 to string; "
           "state stored as t.State cannot be read");
  // The refused open changed nothing: the stored state and schemas stand.
  CHECK(load(store, "svc", "k").bytes == "\x08\x2a");
  CHECK(store.open_namespace("svc", with_schema(v2)).is_ok());

  SECTION("a field dropped by one version and reused by the next is checked against both") {
    auto dropped = schema(proto3("message State { string owner = 2; }"));
    REQUIRE(store.open_namespace("svc", with_schema(dropped)).is_ok());
    auto reused = schema(proto3("message State { double count = 1; string owner = 2; }"));
    auto refused = store.open_namespace("svc", with_schema(reused));
    CHECK(refused.code() == status_code::failed_precondition);
    CHECK_THAT(refused.message(), Catch::Contains("State.count (number 1)"));
  }
}
