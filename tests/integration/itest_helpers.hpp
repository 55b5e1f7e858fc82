// Shared helpers of the integration tests (header only; the test binary globs
// only tests/integration/*.cpp): reading JSON bodies, checking problem
// documents, the admin API, the example counter, bounded polling, temporary
// directories and files.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>

#include "support/node_process.hpp"
#include "support/raw_http.hpp"
#include "support/temp_dir.hpp"
#include "troupe/admin.pb.h"

namespace troupe::itest {

using namespace troupe::test;
using namespace std::chrono_literals;

// -- text ----------------------------------------------------------------------

inline std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline bool contains_nocase(const std::string& haystack, const std::string& needle) {
  return contains(lower(haystack), lower(needle));
}

/// The lines of `text`, without their '\n' and without a trailing empty one.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::string::size_type start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    result.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

/// "application/json; charset=utf-8" -> "application/json".
inline std::string media_type(const std::string& content_type) {
  auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.pop_back();
  return lower(type);
}

// -- JSON ----------------------------------------------------------------------

/// Any JSON object, by protobuf's generic google.protobuf.Struct.
inline google::protobuf::Struct parse_json(const std::string& text) {
  google::protobuf::Struct doc;
  auto status = google::protobuf::util::JsonStringToMessage(text, &doc);
  INFO("JSON text: " << text);
  INFO("parse error: " << status.ToString());
  REQUIRE(status.ok());
  return doc;
}

inline const google::protobuf::Value* find_field(const google::protobuf::Struct& doc,
                                                 const std::string& name) {
  auto i = doc.fields().find(name);
  return i == doc.fields().end() ? nullptr : &i->second;
}

/// A number field; 64-bit integers printed as strings ("5") are accepted too.
inline std::int64_t int_field(const std::string& json, const std::string& name) {
  auto doc = parse_json(json);
  auto* value = find_field(doc, name);
  INFO("JSON: " << json << "; field: " << name);
  REQUIRE(value != nullptr);
  if (value->kind_case() == google::protobuf::Value::kStringValue) {
    auto& s = value->string_value();
    char* end = nullptr;
    auto n = std::strtoll(s.c_str(), &end, 10);
    REQUIRE((!s.empty() && end == s.c_str() + s.size()));
    return n;
  }
  REQUIRE(value->kind_case() == google::protobuf::Value::kNumberValue);
  return static_cast<std::int64_t>(value->number_value());
}

/// The same without Catch assertions, for worker threads: nullopt when the
/// text is not a JSON object with that integer field.
inline std::optional<std::int64_t> try_int_field(const std::string& json,
                                                 const std::string& name) {
  google::protobuf::Struct doc;
  if (!google::protobuf::util::JsonStringToMessage(json, &doc).ok())
    return std::nullopt;
  auto* value = find_field(doc, name);
  if (value == nullptr)
    return std::nullopt;
  if (value->kind_case() == google::protobuf::Value::kNumberValue)
    return static_cast<std::int64_t>(value->number_value());
  if (value->kind_case() == google::protobuf::Value::kStringValue) {
    auto& s = value->string_value();
    char* end = nullptr;
    auto n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size())
      return n;
  }
  return std::nullopt;
}

inline std::string string_field(const std::string& json, const std::string& name) {
  auto doc = parse_json(json);
  auto* value = find_field(doc, name);
  INFO("JSON: " << json << "; field: " << name);
  REQUIRE(value != nullptr);
  REQUIRE(value->kind_case() == google::protobuf::Value::kStringValue);
  return value->string_value();
}

// -- responses -----------------------------------------------------------------

inline void require_json_ok(const http_response& r) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 200);
  REQUIRE(media_type(r.header("content-type")) == "application/json");
}

struct problem {
  std::string type;
  std::string title;
  std::int64_t status = 0;
  std::string detail;
};

/// Checks that `r` is an RFC 9457 problem with HTTP status `status`: the
/// content type, and the fields type, title, status (equal to the HTTP
/// status) and detail (naming the fault, so never empty).
inline problem require_problem(const http_response& r, int status) {
  INFO("status " << r.status << ", content-type '" << r.header("content-type")
                 << "', body: " << r.body);
  REQUIRE(r.status == status);
  REQUIRE(media_type(r.header("content-type")) == "application/problem+json");
  problem p;
  p.type = string_field(r.body, "type");
  p.title = string_field(r.body, "title");
  p.status = int_field(r.body, "status");
  p.detail = string_field(r.body, "detail");
  REQUIRE_FALSE(p.type.empty());
  REQUIRE_FALSE(p.title.empty());
  REQUIRE(p.status == status);
  REQUIRE_FALSE(p.detail.empty());
  return p;
}

/// Sends `request` on `conn` and reads its response, which must come.
inline http_response round_trip(raw_connection& conn, const std::string& request) {
  conn.send(request);
  auto r = conn.read_response();
  INFO("request: " << request.substr(0, 200));
  REQUIRE(r.has_value());
  return *r;
}

// -- the example counter -------------------------------------------------------

inline std::string add_request(const std::string& key, std::int64_t delta) {
  return make_request("POST", "/v1/counters/" + key + ":add",
                      R"({"delta": )" + std::to_string(delta) + "}");
}

inline std::string get_request(const std::string& key) {
  return make_request("GET", "/v1/counters/" + key);
}

/// The "value" of a successful counter reply.
inline std::int64_t counter_value(const http_response& r) {
  require_json_ok(r);
  return int_field(r.body, "value");
}

inline std::int64_t counter_add(std::uint16_t port, const std::string& key,
                                std::int64_t delta) {
  return counter_value(http_call(port, "POST", "/v1/counters/" + key + ":add",
                                 R"({"delta": )" + std::to_string(delta) + "}"));
}

inline std::int64_t counter_get(std::uint16_t port, const std::string& key) {
  return counter_value(http_call(port, "GET", "/v1/counters/" + key));
}

// -- the admin API -------------------------------------------------------------

/// GETs an admin resource and reads it as `Message` by the proto3 JSON mapping.
template <class Message>
Message admin_get(std::uint16_t port, const std::string& path) {
  auto r = http_call(port, "GET", path);
  require_json_ok(r);
  Message msg;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(r.body, &msg, options);
  INFO("GET " << path << ": " << r.body << "; parse error: " << status.ToString());
  REQUIRE(status.ok());
  return msg;
}

/// Sends `request` `calls` times in a row on each of `threads` keep-alive
/// connections at once; returns every response body and fails the test on an
/// answer other than 200.
inline std::vector<std::string> concurrent_calls(std::uint16_t port, int threads,
                                                 int calls, const std::string& request) {
  std::vector<std::vector<std::string>> bodies(threads);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      try {
        raw_connection conn{port};
        for (int i = 0; i < calls; ++i) {
          conn.send(request);
          auto r = conn.read_response();
          if (!r || r->status != 200) {
            errors[t] = r ? "status " + std::to_string(r->status) + ": " + r->body
                          : std::string{"no response"};
            return;
          }
          bodies[t].push_back(r->body);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (auto& w : workers)
    w.join();
  std::vector<std::string> all;
  for (int t = 0; t < threads; ++t) {
    INFO("connection " << t);
    REQUIRE(errors[t].empty());
    all.insert(all.end(), bodies[t].begin(), bodies[t].end());
  }
  return all;
}

inline troupe::admin::v1::ServiceInfo admin_service(std::uint16_t port,
                                                    const std::string& name) {
  return admin_get<troupe::admin::v1::ServiceInfo>(port, "/admin/v1/services/" + name);
}

// -- waiting -------------------------------------------------------------------

/// Tries `condition` up to `attempts` times, pausing `pause` between tries;
/// true as soon as it holds.
template <class Condition>
bool eventually(Condition&& condition, int attempts = 100,
                std::chrono::milliseconds pause = 100ms) {
  for (int i = 0; i < attempts; ++i) {
    if (condition())
      return true;
    std::this_thread::sleep_for(pause);
  }
  return false;
}

// -- files ---------------------------------------------------------------------


} // namespace troupe::itest
