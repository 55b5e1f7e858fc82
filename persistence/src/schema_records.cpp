#include "schema_records.hpp"

#include <memory>

#include <rocksdb/db.h>

#include "fault_log.hpp"

namespace troupe::persistence {

namespace {

constexpr std::uint8_t record_format = 1;

std::string prefix_of(std::string_view service, schema_kind kind) {
  return (kind == schema_kind::state ? "schema/" : "event-schema/") + std::string{service} + "/";
}

std::string key_of(std::string_view service, std::uint64_t sequence, schema_kind kind) {
  auto key = prefix_of(service, kind);
  for (int i = 7; i >= 0; --i)
    key.push_back(static_cast<char>((sequence >> (8 * i)) & 0xff));
  return key;
}

std::string encode(const state_schema& schema) {
  std::string out;
  out.push_back(static_cast<char>(record_format));
  auto n = static_cast<std::uint32_t>(schema.type_name.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += schema.type_name;
  out += schema.descriptors;
  return out;
}

bool decode(std::string_view value, state_schema& out) {
  if (value.size() < 5 || static_cast<std::uint8_t>(value[0]) != record_format)
    return false;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n |= std::uint32_t{static_cast<std::uint8_t>(value[1 + i])} << (8 * i);
  if (value.size() - 5 < n)
    return false;
  out.type_name = std::string{value.substr(5, n)};
  out.descriptors = std::string{value.substr(5 + n)};
  return true;
}

status damaged(std::string_view service, const std::string& why, schema_kind kind) {
  return {status_code::failed_precondition,
          "service " + std::string{service} + ": its stored "
            + (kind == schema_kind::state ? "state" : "event") + " schema cannot be read ("
            + why + ")"};
}

} // namespace

status read_schemas(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, std::string_view service,
                    std::vector<stored_schema>& out, schema_kind kind) {
  auto prefix = prefix_of(service, kind);
  std::unique_ptr<rocksdb::Iterator> it{db.NewIterator(rocksdb::ReadOptions{}, meta)};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8)
      return damaged(service, "a record has a malformed key", kind);
    std::uint64_t sequence = 0;
    for (std::size_t i = prefix.size(); i < key.size(); ++i)
      sequence = (sequence << 8) | static_cast<std::uint8_t>(key[i]);
    stored_schema record{sequence, {}};
    if (!decode(it->value().ToStringView(), record.schema))
      return damaged(service, "a record is not in a format this version reads", kind);
    out.push_back(std::move(record));
  }
  if (!it->status().ok())
    return damaged(service, one_line(it->status().ToString()), kind);
  return {};
}

status append_schema(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, std::string_view service,
                     const state_schema& schema, schema_kind kind) {
  std::vector<stored_schema> stored;
  if (auto st = read_schemas(db, meta, service, stored, kind); !st)
    return st;
  auto next = stored.empty() ? 1 : stored.back().sequence + 1;
  rocksdb::WriteOptions options;
  options.sync = true;
  auto s = db.Put(options, meta, key_of(service, next, kind), encode(schema));
  if (!s.ok())
    return {status_code::unavailable, "service " + std::string{service} + ": its "
                                        + (kind == schema_kind::state ? "state" : "event")
                                        + " schema cannot be stored: " + one_line(s.ToString())};
  return {};
}

} // namespace troupe::persistence
