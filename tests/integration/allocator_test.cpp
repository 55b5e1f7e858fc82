// The node's allocator: the `troupe` program links jemalloc
// (program/CMakeLists.txt says why), so a running node's malloc is
// jemalloc's, not glibc's.
#include <fstream>
#include <string>

#include "integration/itest_helpers.hpp"

using namespace troupe::itest;

TEST_CASE("program: a running node allocates with jemalloc") {
  node_process node{{"--module", counter_module()}};
  // A call, so that every thread of the serving path has allocated.
  auto r = http_call(node.port(), "POST", "/v1/counters/alloc:add", R"({"delta": 1})");
  REQUIRE(r.status == 200);
  std::ifstream maps{"/proc/" + std::to_string(node.pid()) + "/maps"};
  REQUIRE(maps.good());
  bool jemalloc = false;
  for (std::string line; std::getline(maps, line);)
    jemalloc = jemalloc || line.find("libjemalloc.so") != std::string::npos;
  CHECK(jemalloc);
}
