// Module loading at node start: a module that cannot be loaded stops the
// start with exit status 1 and one line on stderr naming the module and the
// fault; no node runs half-configured.
#include "integration/itest_helpers.hpp"

using namespace troupe::itest;
namespace admin = troupe::admin::v1;

namespace {

command_result run_node_with(const temp_dir& dir, const std::vector<std::string>& modules) {
  std::vector<std::string> argv{TROUPE_BINARY, "node", "--http", "127.0.0.1:0",
                                "--data", dir.path() + "/data"};
  for (auto& m : modules) {
    argv.push_back("--module");
    argv.push_back(m);
  }
  return run_command(argv, std::chrono::seconds{15});
}

/// Exit status 1, exactly one line on stderr naming `module` and containing
/// one of `fault_words`, nothing served.
void require_load_failure(const command_result& result, const std::string& module,
                          const std::vector<std::string>& fault_words) {
  INFO("exit " << result.exit_code << "; stderr: " << result.err
               << "; stdout: " << result.out);
  REQUIRE(result.exit_code == 1);
  auto lines = lines_of(result.err);
  REQUIRE(lines.size() == 1);
  REQUIRE(contains(lines[0], module));
  bool names_fault = false;
  for (auto& word : fault_words)
    names_fault = names_fault || contains_nocase(lines[0], word);
  REQUIRE(names_fault);
  // It never got as far as serving.
  REQUIRE_FALSE(contains(result.out, "ready"));
}

} // namespace

TEST_CASE("modules: a missing file stops the start", "[modules]") {
  temp_dir dir;
  auto path = dir.path() + "/libmissing.so";
  require_load_failure(run_node_with(dir, {counter_module(), path}), path, {"no such file"});
}

TEST_CASE("modules: a library without the entry point stops the start", "[modules]") {
  temp_dir dir;
  auto path = test_module("missing_entry");
  require_load_failure(run_node_with(dir, {path}), path, {"entry point"});
}

TEST_CASE("modules: a module built against another SDK ABI stops the start",
          "[modules]") {
  temp_dir dir;
  auto path = test_module("wrong_abi");
  auto result = run_node_with(dir, {path});
  require_load_failure(result, path, {"ABI"});
  REQUIRE(contains(result.err, "999"));
}

TEST_CASE("modules: a file that is not a shared library stops the start", "[modules]") {
  temp_dir dir;
  auto path = dir.write_file("libtext.so", "this is not an ELF file\n");
  require_load_failure(run_node_with(dir, {path}), path,
                       {"cannot be loaded", "not a shared library", "invalid ELF"});
}

TEST_CASE("modules: a service defined by two modules stops the start", "[modules]") {
  temp_dir dir;
  auto dup = test_module("dup_counter");
  require_load_failure(run_node_with(dir, {counter_module(), dup}), dup, {"already"});
}

TEST_CASE("modules: a module registering one service twice stops the start",
          "[modules]") {
  temp_dir dir;
  auto path = test_module("dup_name");
  auto result = run_node_with(dir, {path});
  require_load_failure(result, path, {"twice", "already"});
  REQUIRE(contains(result.err, "test.dupname.v1.Twice"));
}

TEST_CASE("modules: the same module given twice stops the start", "[modules]") {
  temp_dir dir;
  auto path = counter_module();
  require_load_failure(run_node_with(dir, {path, path}), path, {"twice", "already"});
}

TEST_CASE("modules: a node with good modules starts and lists them", "[modules]") {
  node_process node{{"--module", counter_module(), "--module", greeter_module(),
                     "--module", test_module("faulty")}};
  auto list = admin_get<admin::ModuleList>(node.port(), "/admin/v1/modules");
  std::vector<std::string> names;
  for (auto& m : list.modules())
    names.push_back(m.name());
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{"counter", "faulty", "greeter"});
}
