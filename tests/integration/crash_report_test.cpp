// A handler that kills the process: the node's last log line names the
// signal and the service, method and key whose handler was running, so the
// operator knows which module to blame. Uses tests/modules/crashing.proto.
#include <signal.h>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

namespace {

/// The node's stderr line that reports the crash; empty until it is there.
std::string crash_line(const node_process& node) {
  for (const auto& line : lines_of(node.stderr_text()))
    if (contains(line, "\"log.level\":\"fatal\""))
      return line;
  return {};
}

/// A string field of `doc`; empty when it is missing.
std::string text_field(const google::protobuf::Struct& doc, const std::string& name) {
  auto* value = find_field(doc, name);
  return value != nullptr ? value->string_value() : std::string{};
}

} // namespace

TEST_CASE("a handler that crashes the node is named in its last log line",
          "[crash]") {
  node_process node{{"--module", counter_module(), "--module", test_module("crashing")}};
  // The counter works: a crash report must not come from healthy calls.
  REQUIRE(counter_add(node.port(), "k", 1) == 1);

  auto [path, signal] = GENERATE(std::pair{"/v1/crashing/poison:segfault", SIGSEGV},
                                 std::pair{"/v1/crashing/poison:abort", SIGABRT});
  const char* method = signal == SIGSEGV ? "Segfault" : "Abort";
  const char* name = signal == SIGSEGV ? "SIGSEGV" : "SIGABRT";
  INFO("calling " << path);
  // The connection dies with the process: no response is expected.
  try {
    http_call(node.port(), "POST", path);
  } catch (const std::exception&) {
  }
  REQUIRE(node.wait_exit(20s) == 128 + signal);
  std::string line;
  REQUIRE(eventually([&] { return !(line = crash_line(node)).empty(); }, 100, 20ms));
  INFO("crash line: " << line);
  auto doc = parse_json(line);
  CHECK(text_field(doc, "process.signal") == name);
  CHECK(text_field(doc, "troupe.service") == "test.crashing.v1.Crashing");
  CHECK(text_field(doc, "troupe.method") == method);
  CHECK(text_field(doc, "troupe.key") == "poison");
  CHECK(text_field(doc, "service.node.name") == "node-1");
  CHECK(find_field(doc, "@timestamp") != nullptr);
  // Where it crashed: frames as library+offset, the handler's module among them.
  CHECK(text_field(doc, "error.stack_trace").find("libcrashing.so+0x") != std::string::npos);
}
