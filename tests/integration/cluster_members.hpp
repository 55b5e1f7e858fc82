// What the integration tests of clusters ask a node's admin API about its
// cluster: the members it lists and their states, and whether it serves.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "itest_helpers.hpp"
#include "support/node_process.hpp"
#include "troupe/admin.pb.h"

namespace troupe::itest {

namespace admin_pb = troupe::admin::v1;

inline std::string address(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

/// GET /admin/v1/nodes without Catch assertions (polled; may fail meanwhile).
inline std::optional<admin_pb::NodeList> try_nodes(std::uint16_t port) {
  try {
    auto r = http_call(port, "GET", "/admin/v1/nodes");
    if (r.status != 200)
      return std::nullopt;
    admin_pb::NodeList list;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(r.body, &list, options).ok())
      return std::nullopt;
    return list;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// The state of member `name` in `port`'s listing; empty when not listed.
inline std::string state_of(std::uint16_t port, const std::string& name,
                     std::uint64_t* incarnation = nullptr) {
  auto list = try_nodes(port);
  if (!list)
    return {};
  for (const auto& n : list->nodes())
    if (n.name() == name) {
      if (incarnation != nullptr)
        *incarnation = n.incarnation();
      return n.state();
    }
  return {};
}

/// The name of the member that leads the membership's consensus, as the
/// node at `port` sees it; empty while it knows none.
inline std::string leader_of(std::uint16_t port) {
  auto list = try_nodes(port);
  if (!list)
    return {};
  for (const auto& n : list->nodes())
    if (n.leader())
      return n.name();
  return {};
}

inline bool ready(std::uint16_t port) {
  try {
    return http_call(port, "GET", "/readyz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

/// True once every node in `ports` lists exactly `names`, all up, with the
/// consensus' voters all promoted (the first three members by default), and
/// says it is ready (it holds its lease: it serves keyed actors). A test that
/// stops a voter before the promotions end may leave no majority to elect a
/// leader: with two voters of three members, freezing the leader stalls the
/// cluster until it returns.
inline bool all_up(const std::vector<std::uint16_t>& ports, const std::vector<std::string>& names,
                   std::size_t voters = 3) {
  voters = std::min(voters, names.size());
  for (auto port : ports) {
    if (!ready(port))
      return false;
    auto list = try_nodes(port);
    if (!list)
      return false;
    std::set<std::string> up;
    std::size_t voting = 0;
    for (const auto& n : list->nodes()) {
      if (n.state() == "up")
        up.insert(n.name());
      voting += n.voter();
    }
    if (up != std::set<std::string>(names.begin(), names.end()) || voting < voters)
      return false;
  }
  return true;
}

/// The last `lines` lines each node wrote to stderr, headed by its name,
/// leaving out the request log (the test's own polling of /readyz would fill
/// it): what a failed cluster test prints, since CI keeps nothing else of the
/// nodes.
/// The last `lines` lines node `name` logged, for a failed test's message:
/// without request lines (the tests' own polling fills the log with them)
/// and without the fields every line repeats, so that a truncated report
/// still shows what the node did.
inline std::string what_node_said(const node_process& node, const std::string& name,
                                  std::size_t lines = 40) {
  std::vector<std::string> kept;
  std::istringstream text{node.stderr_text()};
  const std::string repeated[] = {"\"service.name\":\"troupe\",",
                                  "\"service.node.name\":\"" + name + "\",",
                                  "\"log.level\":\"info\","};
  for (std::string line; std::getline(text, line);) {
    if (line.find("\"http request failed\"") != std::string::npos)
      continue;
    for (const auto& field : repeated)
      if (auto at = line.find(field); at != std::string::npos)
        line.erase(at, field.size());
    kept.push_back(std::move(line));
  }
  std::string said = "---- " + name + "\n";
  for (auto j = kept.size() > lines ? kept.size() - lines : 0; j < kept.size(); ++j)
    said += kept[j] + "\n";
  return said;
}

inline std::string what_nodes_said(const std::vector<std::unique_ptr<node_process>>& nodes,
                                   const std::vector<std::string>& names,
                                   std::size_t lines = 40) {
  std::string said;
  for (std::size_t i = 0; i < nodes.size() && i < names.size(); ++i)
    if (nodes[i])
      said += what_node_said(*nodes[i], names[i], lines);
  return said;
}

} // namespace troupe::itest
