// The shell's line tokenizer and command parser: what a typed line means,
// and which lines are refused before anything is sent.
#include <catch2/catch.hpp>

#include "shell/src/command.hpp"
#include "shell/src/errors.hpp"
#include "shell/src/word_reader.hpp"

using namespace troupe::shell;
using words = std::vector<std::string>;

namespace {

template <class Command>
Command parse_as(std::string_view line) {
  const auto parsed = parse_command(line);
  REQUIRE(std::holds_alternative<Command>(parsed));
  return std::get<Command>(parsed);
}

std::string usage_message(std::string_view line) {
  try {
    parse_command(line);
  } catch (const usage_error& e) {
    return e.what();
  }
  FAIL("no usage error for: " << line);
  return {};
}

} // namespace

TEST_CASE("words are split on blanks", "[shell][words]") {
  CHECK(split_words("") == words{});
  CHECK(split_words("   \t ") == words{});
  CHECK(split_words("services") == words{"services"});
  CHECK(split_words("  describe\tdemo.counter.v1.Counter  ") == words{"describe", "demo.counter.v1.Counter"});
}

TEST_CASE("quotes keep blanks and join with bare parts", "[shell][words]") {
  CHECK(split_words("a 'b c' d") == words{"a", "b c", "d"});
  CHECK(split_words(R"(a "b c" d)") == words{"a", "b c", "d"});
  CHECK(split_words(R"(x'y z'w)") == words{"xy zw"});
  CHECK(split_words(R"('' "")") == words{"", ""});
  CHECK(split_words(R"('it''s')") == words{"its"});
  CHECK(split_words(R"('a\b')") == words{R"(a\b)"});           // literal in '...'
  CHECK(split_words(R"("say \"hi\" \\ \n")") == words{R"(say "hi" \ \n)"});
  CHECK(split_words(R"(a\ b)") == words{"a b"});               // bare backslash escapes
}

TEST_CASE("an unterminated quote is a usage error", "[shell][words]") {
  CHECK_THROWS_AS(split_words("call 'abc"), usage_error);
  CHECK_THROWS_AS(split_words(R"(call "abc\")"), usage_error);
}

TEST_CASE("word_reader leaves the rest of the line raw", "[shell][words]") {
  word_reader reader(R"(  call  Svc  {"a": "b  c"}  )");
  CHECK(reader.next() == std::optional<std::string>("call"));
  CHECK(reader.next() == std::optional<std::string>("Svc"));
  CHECK(reader.rest() == R"({"a": "b  c"})");
  CHECK_FALSE(reader.at_end());
}

TEST_CASE("quote_word round-trips through the reader", "[shell][words]") {
  for (const std::string text : {"plain", "with blank", "it's", R"(back\slash)", R"("dq")", "", "{k"}) {
    INFO(text);
    CHECK(split_words(quote_word(text)) == words{text});
  }
  CHECK(quote_word("plain") == "plain");
}

TEST_CASE("commands without arguments", "[shell][command]") {
  parse_as<nodes_command>("nodes");
  parse_as<node_command>(" node ");
  parse_as<modules_command>("modules");
  parse_as<services_command>("services");
  parse_as<quit_command>("quit");
  parse_as<quit_command>("exit");
  parse_as<blank_command>("");
  parse_as<blank_command>("   ");
  parse_as<blank_command>("# a comment");
  CHECK(parse_as<help_command>("help").topic.empty());
  CHECK(parse_as<help_command>("help call").topic == "call");
  CHECK(usage_message("services now") == "usage: services");
  CHECK(usage_message("quit now") == "usage: quit");
}

TEST_CASE("describe and reset take one service", "[shell][command]") {
  CHECK(parse_as<describe_command>("describe demo.counter.v1.Counter").service == "demo.counter.v1.Counter");
  CHECK(parse_as<reset_command>("reset counter").service == "counter");
  CHECK(usage_message("describe") == "usage: describe SERVICE");
  CHECK(usage_message("describe a b") == "usage: describe SERVICE");
  CHECK(usage_message("reset") == "usage: reset SERVICE");
}

TEST_CASE("state and delete-state take a service and a key, backup an absolute DIR",
          "[shell][command][state]") {
  auto state = parse_as<state_command>("state counter apples");
  CHECK(state.service == "counter");
  CHECK(state.key == "apples");
  CHECK(parse_as<state_command>("state counter 'a b'").key == "a b");
  auto del = parse_as<delete_state_command>("delete-state demo.counter.v1.Counter \"{x}\"");
  CHECK(del.service == "demo.counter.v1.Counter");
  CHECK(del.key == "{x}");
  CHECK(parse_as<backup_command>("backup /var/backups/troupe").dir == "/var/backups/troupe");
  CHECK(usage_message("state counter") == "usage: state SERVICE KEY");
  CHECK(usage_message("state counter a b") == "usage: state SERVICE KEY");
  CHECK(usage_message("delete-state counter") == "usage: delete-state SERVICE KEY");
  CHECK(usage_message("backup") == "usage: backup DIR");
  CHECK(usage_message("backup backups") ==
        "DIR must be an absolute path on the node's machine, not 'backups'");
}

TEST_CASE("where takes a service and a key, drain and remove a node", "[shell][command]") {
  auto where = parse_as<where_command>("where Counter 'big apple'");
  CHECK(where.service == "Counter");
  CHECK(where.key == "big apple");
  CHECK(parse_as<drain_command>("drain node-2").node == "node-2");
  CHECK(usage_message("where Counter") == "usage: where SERVICE KEY");
  CHECK(usage_message("drain") == "usage: drain NODE");
  CHECK(usage_message("drain a b") == "usage: drain NODE");
  CHECK(parse_as<remove_command>("remove node-3").node == "node-3");
  CHECK(usage_message("remove") == "usage: remove NODE");
}

TEST_CASE("an unknown command names itself and points to help", "[shell][command]") {
  CHECK(usage_message("foo") == "unknown command 'foo' (try 'help')");
  CHECK(usage_message("Services") == "unknown command 'Services' (try 'help')");
}

TEST_CASE("call: key present when the text after METHOD does not start with {", "[shell][command]") {
  SECTION("with a key; the JSON keeps its blanks") {
    const auto call = parse_as<call_command>(R"(call Counter Add k1 {"delta": 5,  "note": "a b"})");
    CHECK(call.service == "Counter");
    CHECK(call.method == "Add");
    CHECK(call.key == std::optional<std::string>("k1"));
    CHECK(call.json == R"({"delta": 5,  "note": "a b"})");
  }
  SECTION("without a key") {
    const auto call = parse_as<call_command>(R"(call demo.greeter.v1.Greeter Hello {"name": "Ada"})");
    CHECK_FALSE(call.key);
    CHECK(call.json == R"({"name": "Ada"})");
  }
  SECTION("a quoted key with blanks") {
    const auto call = parse_as<call_command>(R"(call Counter Get 'my key' {})");
    CHECK(call.key == std::optional<std::string>("my key"));
    CHECK(call.json == "{}");
  }
  SECTION("a quoted key that starts with {") {
    const auto call = parse_as<call_command>(R"(call Counter Get '{odd' {})");
    CHECK(call.key == std::optional<std::string>("{odd"));
  }
  SECTION("JSON omitted means {}") {
    CHECK(parse_as<call_command>("call Counter Get k1").json == "{}");
    const auto call = parse_as<call_command>("call Greeter Hello");
    CHECK_FALSE(call.key);
    CHECK(call.json == "{}");
  }
  SECTION("the JSON may be one quoted word") {
    const auto keyed = parse_as<call_command>(R"(call Counter Add k1 '{"delta": 2}')");
    CHECK(keyed.key == std::optional<std::string>("k1"));
    CHECK(keyed.json == R"({"delta": 2})");
    const auto keyless = parse_as<call_command>(R"(call Greeter Hello '{"name": "x y"}')");
    CHECK_FALSE(keyless.key);
    CHECK(keyless.json == R"({"name": "x y"})");
  }
}

TEST_CASE("call: usage errors are found before sending", "[shell][command]") {
  CHECK(usage_message("call") == "usage: call SERVICE METHOD [KEY] JSON");
  CHECK(usage_message("call Counter") == "usage: call SERVICE METHOD [KEY] JSON");
  CHECK_THAT(usage_message(R"(call Counter Add k1 {"delta": })"),
             Catch::StartsWith("the request is not valid JSON: "));
  CHECK_THAT(usage_message(R"(call Counter Add k1 '{"delta": 1}' extra)"),
             Catch::StartsWith("unexpected text after the quoted JSON"));
  CHECK(usage_message("call Counter Add '' {}") == "KEY must not be empty");
}

TEST_CASE("help lists every command and explains one", "[shell][command]") {
  const auto all = help_text();
  for (const auto name : command_names)
    CHECK_THAT(all, Catch::Contains(std::string(name)));
  CHECK_THAT(help_text("call"), Catch::StartsWith("call SERVICE METHOD [KEY] JSON\n"));
  CHECK_THROWS_AS(help_text("frobnicate"), usage_error);
}
