// How the shell lays out what the admin API returns.
#include <catch2/catch.hpp>

#include "shell/src/json_text.hpp"
#include "shell/src/text_table.hpp"
#include "shell/src/views.hpp"

using namespace troupe::shell;
namespace admin = troupe::admin::v1;

TEST_CASE("a table aligns its columns two blanks apart", "[shell][table]") {
  text_table table({{"NAME"}, {"COUNT", text_table::alignment::right}, {"NOTE"}});
  table.add_row({"alpha", "1", "x"});
  table.add_row({"b", "12345", ""});
  CHECK(table.rows() == 2);
  CHECK(table.render() ==
        "NAME   COUNT  NOTE\n"
        "alpha      1  x\n"
        "b      12345\n");
}

TEST_CASE("a table counts UTF-8 characters, not bytes, and hides control characters",
          "[shell][table]") {
  text_table table({{"A"}, {"B"}});
  table.add_row({"\xC3\xA9t\xC3\xA9", "1"});  // "été": 3 characters, 5 bytes
  table.add_row({"bad\x1b[31m", "2"});
  table.add_row({"short"});                    // a missing cell is blank
  CHECK(table.render() ==
        "A         B\n"
        "\xC3\xA9t\xC3\xA9       1\n"
        "bad?[31m  2\n"
        "short\n");
}

TEST_CASE("durations show their two largest units", "[shell][table]") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(42) == "42s");
  CHECK(format_duration(303) == "5m 3s");
  CHECK(format_duration(7200) == "2h");
  CHECK(format_duration(7260) == "2h 1m");
  CHECK(format_duration(60) == "1m");
  CHECK(format_duration(3 * 86400 + 4 * 3600 + 59) == "3d 4h");
  CHECK(format_duration(-5) == "0s");
  CHECK(format_millis(250) == "250ms");
  CHECK(format_millis(10'000) == "10s");
  CHECK(format_millis(1'500) == "1.5s");
  CHECK(format_millis(150'000) == "2m 30s");
  CHECK(format_millis(1'234) == "1234ms");
}

TEST_CASE("services table", "[shell][views]") {
  admin::ServiceList list;
  auto* counter = list.add_services();
  counter->set_name("demo.counter.v1.Counter");
  counter->set_kind("keyed");
  counter->set_status("running");
  counter->set_active_actors(3);
  counter->set_restarts(1);
  counter->set_inflight(12);
  counter->set_calls_shed(340);
  counter->set_slow_calls(2);
  auto* greeter = list.add_services();
  greeter->set_name("demo.greeter.v1.Greeter");
  greeter->set_kind("stateless");
  greeter->set_status("failed");
  greeter->set_instances(4);
  // ACTORS: the keyed service's activations, the stateless one's instances.
  CHECK(render_services(list) ==
        "NAME                     KIND       STATUS   ACTORS  RESTARTS  IN-FLIGHT  SHED  SLOW\n"
        "demo.counter.v1.Counter  keyed      running       3         1         12   340     2\n"
        "demo.greeter.v1.Greeter  stateless  failed        4         0          0     0     0\n");
  CHECK(render_services(admin::ServiceList{}) == "(no services)\n");
}

TEST_CASE("nodes table", "[shell][views]") {
  admin::NodeList list;
  auto* node = list.add_nodes();
  node->set_name("node-1");
  node->set_http_address("127.0.0.1:8080");
  node->set_uptime_seconds(3725);
  node->set_status("serving");
  CHECK(render_nodes(list) ==
        "NAME    HTTP ADDRESS    UPTIME  STATUS\n"
        "node-1  127.0.0.1:8080   1h 2m  serving\n");
  CHECK(render_nodes(admin::NodeList{}) == "(no nodes)\n");
}

TEST_CASE("one node, with its request timeout", "[shell][views]") {
  admin::NodeInfo node;
  node.set_name("node-1");
  node.set_version("0.1.0");
  node.set_http_address("127.0.0.1:8080");
  node.set_data_dir("/var/lib/troupe");
  node.set_uptime_seconds(61);
  node.set_status("serving");
  node.set_request_timeout_ms(15'000);
  node.set_max_inflight(10'000);
  node.set_inflight(42);
  node.set_max_mailbox(1'000);
  node.set_max_activations(5'000);
  node.set_activations(4'999);
  node.set_calls_shed(7);
  node.set_shedding("activation limit reached (5000 activations, none idle to passivate)");
  node.set_slow_handler_threshold_ms(100);
  node.set_slow_calls(3);
  CHECK(render_node(node) ==
        "Name:             node-1\n"
        "Version:          0.1.0\n"
        "HTTP address:     127.0.0.1:8080\n"
        "Data directory:   /var/lib/troupe\n"
        "Uptime:           1m 1s\n"
        "Status:           serving\n"
        "Request timeout:  15s\n"
        "Calls in flight:  42 of 10000\n"
        "Mailbox limit:    1000 calls per actor\n"
        "Activations:      4999 of 5000\n"
        "Calls shed:       7\n"
        "Shedding:         activation limit reached (5000 activations, none idle to passivate)\n"
        "Slow handlers:    3 (over 100ms)\n");
  node.clear_request_timeout_ms();
  node.clear_shedding();
  const auto shown = render_node(node);
  CHECK_THAT(shown, Catch::Contains("Request timeout:  -\n"));
  CHECK_THAT(shown, Catch::Contains("Shedding:         no\n"));
}

TEST_CASE("one node from a node that reports no load", "[shell][views]") {
  // Limits of 0 (an older node, or fields left out): no "of" to show.
  admin::NodeInfo node;
  node.set_name("node-1");
  const auto shown = render_node(node);
  CHECK_THAT(shown, Catch::Contains("Calls in flight:  0\n"));
  CHECK_THAT(shown, Catch::Contains("Mailbox limit:    -\n"));
  CHECK_THAT(shown, Catch::Contains("Activations:      0\n"));
  CHECK_THAT(shown, Catch::EndsWith("Slow handlers:    0\n"));
}

TEST_CASE("modules table", "[shell][views]") {
  admin::ModuleList list;
  auto* module = list.add_modules();
  module->set_name("counter");
  module->set_version("1.0.0");
  module->set_path("/opt/libcounter.so");
  module->add_services("demo.counter.v1.Counter");
  module->add_services("demo.counter.v1.Other");
  CHECK(render_modules(list) ==
        "NAME     VERSION  SERVICES                                        PATH\n"
        "counter  1.0.0    demo.counter.v1.Counter, demo.counter.v1.Other  /opt/libcounter.so\n");
}

TEST_CASE("describe shows kind, policy, methods and routes", "[shell][views]") {
  admin::ServiceInfo service;
  service.set_name("demo.counter.v1.Counter");
  service.set_kind("keyed");
  service.set_module("counter");
  service.set_status("running");
  service.set_active_actors(2);
  service.set_idle_timeout_ms(300'000);
  service.set_calls(10);
  service.set_failures(1);
  auto* policy = service.mutable_restart_policy();
  policy->set_max_restarts(5);
  policy->set_window_ms(10'000);
  policy->set_backoff_initial_ms(100);
  policy->set_backoff_max_ms(5'000);
  auto* add = service.add_methods();
  add->set_name("Add");
  add->set_input_type("demo.counter.v1.AddRequest");
  add->set_output_type("demo.counter.v1.CounterValue");
  auto* route = add->add_routes();
  route->set_verb("POST");
  route->set_path("/v1/counters/{key}:add");
  route->set_body("*");
  auto* get = service.add_methods();
  get->set_name("Get");
  get->set_input_type("demo.counter.v1.GetRequest");
  get->set_output_type("demo.counter.v1.CounterValue");

  CHECK(render_service(service) ==
        "Service:        demo.counter.v1.Counter\n"
        "Kind:           keyed (passivated after 5m idle)\n"
        "Module:         counter\n"
        "Status:         running\n"
        "Active actors:  2\n"
        "Calls:          10 (1 failed)\n"
        "In flight:      0 (most waiting for one actor: 0)\n"
        "Calls shed:     0\n"
        "Slow handlers:  0\n"
        "Restarts:       0\n"
        "Policy:         at most 5 restarts in 10s, back-off 100ms to 5s\n"
        "\n"
        "Methods:\n"
        "  Add(demo.counter.v1.AddRequest) returns (demo.counter.v1.CounterValue)\n"
        "    POST /v1/counters/{key}:add  body: *\n"
        "  Get(demo.counter.v1.GetRequest) returns (demo.counter.v1.CounterValue)\n"
        "    (no HTTP route)\n");
}

TEST_CASE("JSON is laid out for people", "[shell][json]") {
  CHECK(pretty_json(R"({"value":5})") == "{\n  \"value\": 5\n}");
  // Members keep their order: the node prints fields in declaration order.
  CHECK(pretty_json(R"({"b":[1,"x"],"a":{"d":true,"c":null}})") ==
        "{\n"
        "  \"b\": [\n"
        "    1,\n"
        "    \"x\"\n"
        "  ],\n"
        "  \"a\": {\n"
        "    \"d\": true,\n"
        "    \"c\": null\n"
        "  }\n"
        "}");
  CHECK(pretty_json(R"({"message":"Hello, Ada!","instance":"n/G#0"})")
        == "{\n  \"message\": \"Hello, Ada!\",\n  \"instance\": \"n/G#0\"\n}");
  // Integers keep every digit; text stays UTF-8.
  CHECK(pretty_json(R"({"n":9007199254740993,"x":1.5,"s":"caf\u00e9 ✓"})")
        == "{\n  \"n\": 9007199254740993,\n  \"x\": 1.5,\n  \"s\": \"café ✓\"\n}");
  CHECK(pretty_json(R"({"value":"9007199254740993"})") == "{\n  \"value\": \"9007199254740993\"\n}");
  CHECK(pretty_json("{}") == "{}");
  CHECK(pretty_json("not json") == "not json");
  CHECK_FALSE(json_syntax_error(R"({"a": [1, 2]})"));
  CHECK(json_syntax_error("{bad"));
  CHECK(json_syntax_error("{} trailing"));
}

TEST_CASE("the services table shows stored keys and bytes on disk when a service keeps state",
          "[shell][views][state]") {
  admin::ServiceList list;
  auto* counter = list.add_services();
  counter->set_name("demo.counter.v1.Counter");
  counter->set_kind("keyed");
  counter->set_status("running");
  counter->set_active_actors(3);
  counter->mutable_state()->set_keys(1200);
  counter->mutable_state()->set_disk_bytes(3 * 1024 * 1024 / 2);
  auto* greeter = list.add_services();
  greeter->set_name("demo.greeter.v1.Greeter");
  greeter->set_kind("stateless");
  greeter->set_status("running");
  greeter->set_instances(4);
  CHECK(render_services(list) ==
        "NAME                     KIND       STATUS   ACTORS  RESTARTS  IN-FLIGHT  SHED  SLOW"
        "  STORED KEYS  ON DISK\n"
        "demo.counter.v1.Counter  keyed      running       3         0          0     0     0"
        "         1200  1.5 MiB\n"
        "demo.greeter.v1.Greeter  stateless  running       4         0          0     0     0"
        "            -        -\n");
}

TEST_CASE("describe shows a service's state: type, durability, keys, bytes, compaction, stalls",
          "[shell][views][state]") {
  admin::ServiceInfo service;
  service.set_name("demo.counter.v1.Counter");
  service.set_kind("keyed");
  auto* state = service.mutable_state();
  state->set_type("demo.counter.v1.CounterState");
  state->set_durability("BATCHED");
  state->set_batch_interval_ms(100);
  state->set_keys(42);
  state->set_disk_bytes(2048);
  state->set_memtable_bytes(512);
  state->set_pending_compaction_bytes(0);
  state->set_stall_stops(1);
  state->set_stall_slowdowns(2);
  const auto text = render_service(service);
  CHECK_THAT(text, Catch::Contains("State:          demo.counter.v1.CounterState, BATCHED "
                                   "(synced within 100ms)\n"
                                   "Stored keys:    42 (estimated)\n"
                                   "On disk:        2.0 KiB in tables, 512 B in memtables (in the "
                                   "log, not yet in tables)\n"
                                   "Compaction:     0 B pending\n"
                                   "Write stalls:   1 stops, 2 slowdowns\n"));
  service.clear_state();
  CHECK_THAT(render_service(service), !Catch::Contains("State:"));
}

TEST_CASE("the node view shows its state store", "[shell][views][state]") {
  admin::NodeInfo node;
  node.set_name("node-1");
  auto* store = node.mutable_state_store();
  store->set_engine("rocksdb");
  store->set_directory("/var/lib/troupe/state");
  store->set_disk_bytes(5 * 1024 * 1024);
  store->set_writes_committed(10);
  store->set_writes_failed(1);
  store->set_backup_running(true);
  store->set_last_fault("IO error: No space left on device");
  CHECK_THAT(render_node(node),
             Catch::EndsWith("State store:         rocksdb in /var/lib/troupe/state, 5.0 MiB on disk\n"
                             "State writes:        10 committed, 1 failed; a backup is being written\n"
                             "Last storage fault:  IO error: No space left on device\n"));
}

TEST_CASE("one key's stored state: labelled lines, then its JSON in the node's order",
          "[shell][views][state]") {
  stored_state state;
  state.head.set_service("demo.counter.v1.Counter");
  state.head.set_key("apples");
  state.head.set_version(7);
  state.head.set_type("demo.counter.v1.CounterState");
  state.state_json = R"({"value":5,"label":"x"})";
  CHECK(render_stored_state(state) ==
        "Service:  demo.counter.v1.Counter\n"
        "Key:      apples\n"
        "Version:  7\n"
        "Type:     demo.counter.v1.CounterState\n"
        "{\n  \"value\": 5,\n  \"label\": \"x\"\n}\n");
  admin::Backup backup;
  backup.set_dir("/backups/one");
  backup.set_files(6);
  backup.set_bytes(22'295);
  backup.set_elapsed_ms(53);
  CHECK(render_backup(backup) == "backup written to /backups/one: 6 files, 21.8 KiB, in 53ms\n");
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1024) == "1.0 KiB");
  CHECK(format_bytes(std::uint64_t{3} << 30) == "3.0 GiB");
}

TEST_CASE("json_member takes one member of an object, its members in order", "[shell][json]") {
  CHECK(json_member(R"({"a":1,"state":{"z":1,"a":[2]}})", "state") == R"({"z":1,"a":[2]})");
  CHECK_FALSE(json_member(R"({"a":1})", "state"));
  CHECK_FALSE(json_member("[1]", "state"));
  CHECK_FALSE(json_member("not json", "state"));
}

TEST_CASE("describe shows a service's load, threads and slow methods", "[shell][views]") {
  admin::ServiceInfo service;
  service.set_name("test.Files");
  service.set_kind("keyed");
  service.set_status("running");
  service.set_blocking(true);
  service.set_threads(4);
  service.set_active_actors(90);
  service.set_max_activations(100);
  service.set_inflight(5);
  service.set_mailbox_high_water(17);
  service.set_calls_shed(3);
  service.set_slow_calls(9);
  service.add_slow_methods("Read");
  service.add_slow_methods("Write");
  const auto shown = render_service(service);
  CHECK_THAT(shown, Catch::Contains("Threads:        4 of its own (handlers may block)\n"));
  CHECK_THAT(shown, Catch::Contains("Active actors:  90 of 100\n"));
  CHECK_THAT(shown, Catch::Contains("In flight:      5 (most waiting for one actor: 17)\n"));
  CHECK_THAT(shown, Catch::Contains("Calls shed:     3\n"));
  CHECK_THAT(shown, Catch::Contains("Slow handlers:  9 (Read, Write)\n"));
}

namespace {

void add_node(admin::ServiceInfo& service, const std::string& node, std::uint64_t keys,
              std::uint32_t instances, bool self) {
  auto* on = service.add_nodes();
  on->set_node(node);
  on->set_state("up");
  on->set_keys(keys);
  on->set_instances(instances);
  on->set_self(self);
}

} // namespace

TEST_CASE("in a cluster, services and describe show each node's keys or instances",
          "[shell][views]") {
  admin::ServiceList list;
  auto* counter = list.add_services();
  counter->set_name("demo.counter.v1.Counter");
  counter->set_kind("keyed");
  counter->set_status("running");
  counter->set_active_actors(5);
  add_node(*counter, "n1", 5, 0, true);
  add_node(*counter, "n2", 7, 0, false);
  auto* greeter = list.add_services();
  greeter->set_name("demo.greeter.v1.Greeter");
  greeter->set_kind("stateless");
  greeter->set_status("running");
  greeter->set_instances(4);
  add_node(*greeter, "n1", 0, 4, true);
  add_node(*greeter, "n2", 0, 2, false);
  CHECK(render_services(list) ==
        "NAME                     KIND       STATUS   ACTORS  RESTARTS  IN-FLIGHT  SHED  SLOW"
        "  ON NODES (* this one)\n"
        "demo.counter.v1.Counter  keyed      running       5         0          0     0     0"
        "  n1*:5 n2:7\n"
        "demo.greeter.v1.Greeter  stateless  running       4         0          0     0     0"
        "  n1*:4 n2:2\n");
  const auto keyed = render_service(*counter);
  CHECK_THAT(keyed, Catch::Contains("\nNodes:\n"
                                    "NODE            STATE  KEYS\n"
                                    "n1 (this node)  up        5\n"
                                    "n2              up        7\n"));
  CHECK_THAT(render_service(*greeter), Catch::Contains("STATE  INSTANCES\n"));
  // A node running alone lists no nodes.
  counter->clear_nodes();
  CHECK_THAT(render_service(*counter), !Catch::Contains("Nodes:"));
}

TEST_CASE("nodes table of a cluster: state, incarnation, addresses, heartbeat, role",
          "[shell][views]") {
  admin::NodeList list;
  auto* a = list.add_nodes();
  a->set_name("node-1");
  a->set_state("up");
  a->set_incarnation(1);
  a->set_http_address("127.0.0.1:8080");
  a->set_cluster_address("127.0.0.1:7100");
  a->set_uptime_seconds(65);
  a->set_heartbeat_age_ms(-1);
  a->set_self(true);
  a->set_leader(true);
  auto* b = list.add_nodes();
  b->set_name("node-2");
  b->set_state("down");
  b->set_incarnation(2);
  b->set_http_address("127.0.0.1:8081");
  b->set_cluster_address("127.0.0.1:7102");
  b->set_heartbeat_age_ms(1500);
  CHECK(render_nodes(list) ==
        "NAME    STATE  INC  HTTP ADDRESS    CLUSTER ADDRESS  UPTIME  HEARTBEAT  ROLE\n"
        "node-1  up       1  127.0.0.1:8080  127.0.0.1:7100    1m 5s          -  this node, leader\n"
        "node-2  down     2  127.0.0.1:8081  127.0.0.1:7102       0s   1.5s ago  -\n");
}
