#include "command.hpp"

#include <algorithm>

#include "errors.hpp"
#include "json_text.hpp"
#include "word_reader.hpp"

namespace troupe::shell {

namespace {

struct command_help {
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
};

constexpr command_help help_entries[] = {
    {"nodes", "nodes", "list the cluster's nodes: name, state, incarnation, addresses, uptime, last heartbeat"},
    {"node", "node", "show the node this shell is connected to: its limits and load"},
    {"modules", "modules", "list the loaded modules and their services"},
    {"services", "services", "list services: kind, status, actors, restarts, in flight, shed, slow, stored keys, bytes on disk"},
    {"describe", "describe SERVICE", "show a service: kind, module, status, policy, methods, routes"},
    {"call", "call SERVICE METHOD [KEY] JSON", "call a method; KEY for keyed services; JSON is the request"},
    {"reset", "reset SERVICE", "reset a service's supervision state (a failed service runs again)"},
    {"state", "state SERVICE KEY", "show the state stored for a key, as JSON, and its version"},
    {"delete-state", "delete-state SERVICE KEY", "delete the state stored for a key (logged by the node)"},
    {"backup", "backup DIR", "write a backup of the node's state store into DIR, on the node's machine"},
    {"where", "where SERVICE KEY", "show which node of the cluster owns a key of a keyed service"},
    {"drain", "drain NODE", "hand a node's keys over to the others; then it leaves the cluster"},
    {"remove", "remove NODE", "remove a node that is down for good; the state of its durable keys is given up (logged by the node)"},
    {"help", "help [COMMAND]", "show this list, or one command"},
    {"quit", "quit", "leave the shell (also: exit, Ctrl-D)"},
    {"exit", "exit", "leave the shell (also: quit, Ctrl-D)"},
};

const command_help* find_help(std::string_view name) {
  const auto it = std::find_if(std::begin(help_entries), std::end(help_entries),
                               [&](const command_help& h) { return h.name == name; });
  return it == std::end(help_entries) ? nullptr : &*it;
}

[[noreturn]] void usage(std::string_view name) {
  throw usage_error("usage: " + std::string(find_help(name)->usage));
}

void expect_end(word_reader& words, std::string_view name) {
  if (!words.at_end())
    usage(name);
}

std::string expect_word(word_reader& words, std::string_view name) {
  auto word = words.next();
  if (!word || word->empty())
    usage(name);
  return std::move(*word);
}

std::string checked_json(std::string_view text) {
  if (text.empty())
    return "{}";
  if (auto error = json_syntax_error(text))
    throw usage_error("the request is not valid JSON: " + *error);
  return std::string(text);
}

call_command parse_call(word_reader& words) {
  call_command call;
  call.service = expect_word(words, "call");
  call.method = expect_word(words, "call");
  if (words.at_end() || words.rest().front() == '{') {
    call.json = checked_json(words.rest());
    return call;
  }
  // A quoted word that unquotes to an object and ends the line is the JSON;
  // any other word here is the key.
  auto word = *words.next();
  if (words.at_end() && word.starts_with('{')) {
    call.json = checked_json(word);
    return call;
  }
  if (word.empty())
    throw usage_error("KEY must not be empty");
  call.key = std::move(word);
  const auto rest = words.rest();
  if (!rest.empty() && (rest.front() == '\'' || rest.front() == '"')) {
    auto json = *words.next();
    if (!words.at_end())
      throw usage_error("unexpected text after the quoted JSON: " + std::string(words.rest()));
    call.json = checked_json(json);
  } else {
    call.json = checked_json(rest);
  }
  return call;
}

} // namespace

command parse_command(std::string_view line) {
  word_reader words(line);
  if (words.rest().starts_with('#'))
    return blank_command{};
  const auto name = words.next();
  if (!name)
    return blank_command{};

  if (*name == "help" || *name == "?") {
    help_command help;
    if (auto topic = words.next())
      help.topic = std::move(*topic);
    expect_end(words, "help");
    return help;
  }
  if (*name == "quit" || *name == "exit") {
    expect_end(words, *name);
    return quit_command{};
  }
  if (*name == "node") {
    expect_end(words, "node");
    return node_command{};
  }
  if (*name == "nodes") {
    expect_end(words, "nodes");
    return nodes_command{};
  }
  if (*name == "modules") {
    expect_end(words, "modules");
    return modules_command{};
  }
  if (*name == "services") {
    expect_end(words, "services");
    return services_command{};
  }
  if (*name == "describe") {
    describe_command describe{expect_word(words, "describe")};
    expect_end(words, "describe");
    return describe;
  }
  if (*name == "reset") {
    reset_command reset{expect_word(words, "reset")};
    expect_end(words, "reset");
    return reset;
  }
  if (*name == "where") {
    where_command where;
    where.service = expect_word(words, "where");
    where.key = expect_word(words, "where");
    expect_end(words, "where");
    return where;
  }
  if (*name == "drain") {
    drain_command drain{expect_word(words, "drain")};
    expect_end(words, "drain");
    return drain;
  }
  if (*name == "remove") {
    remove_command remove{expect_word(words, "remove")};
    expect_end(words, "remove");
    return remove;
  }
  if (*name == "call")
    return parse_call(words);
  if (*name == "state") {
    state_command state{expect_word(words, "state"), expect_word(words, "state")};
    expect_end(words, "state");
    return state;
  }
  if (*name == "delete-state") {
    delete_state_command del{expect_word(words, "delete-state"), expect_word(words, "delete-state")};
    expect_end(words, "delete-state");
    return del;
  }
  if (*name == "backup") {
    backup_command backup{expect_word(words, "backup")};
    expect_end(words, "backup");
    // The node writes it: a path relative to the shell's directory would
    // mean something else there.
    if (!backup.dir.starts_with('/'))
      throw usage_error("DIR must be an absolute path on the node's machine, not '" + backup.dir
                        + "'");
    return backup;
  }
  throw usage_error("unknown command '" + *name + "' (try 'help')");
}

std::string help_text(std::string_view topic) {
  if (!topic.empty()) {
    const auto* help = find_help(topic);
    if (!help)
      throw usage_error("no command '" + std::string(topic) + "' (try 'help')");
    return std::string(help->usage) + "\n  " + std::string(help->summary) + "\n";
  }
  std::string text = "Commands:\n";
  for (const auto& help : help_entries) {
    if (help.name == "exit")
      continue;  // listed with quit
    std::string line = "  " + std::string(help.usage);
    line.resize(std::max<std::size_t>(line.size() + 2, 36), ' ');
    text += line + std::string(help.summary) + "\n";
  }
  text +=
      "\n"
      "SERVICE is a full name (demo.counter.v1.Counter) or its last part (Counter).\n"
      "Quote KEY with '...' or \"...\" when it has blanks or starts with '{'.\n"
      "JSON is the rest of the line, e.g.  call Counter Add k1 {\"delta\": 5}\n";
  return text;
}

} // namespace troupe::shell
