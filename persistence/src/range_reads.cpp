#include "range_reads.hpp"

#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "journal_codec.hpp"
#include "value_codec.hpp"

namespace troupe::persistence {

namespace {

status read_failed(const rocksdb::Status& s, fault_log& faults, const char* what) {
  faults.report(std::string{"state store: "} + what + " failed: " + one_line(s.ToString()));
  return s.IsCorruption() ? status{status_code::data_loss, "the stored data is damaged"}
                          : status{status_code::unavailable, "the state store cannot read now"};
}

status closed() {
  return {status_code::unavailable, "the state store cannot read now"};
}

} // namespace

status read_journal(database& db, const family_slot& journal, std::string_view key,
                    std::uint64_t from_seq, std::size_t limit, runtime::journal_page& out,
                    fault_log& faults) {
  auto access = db.use();
  if (!access)
    return closed();
  auto lower = event_key(key, from_seq);
  auto upper = journal_end(key);
  rocksdb::Slice upper_bound{upper};
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it{access->NewIterator(options, journal.handle)};
  std::size_t page_bytes = 0;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (out.events.size() >= limit || page_bytes >= runtime::page_bytes_bound) {
      out.more = true;
      break;
    }
    auto seq = event_seq(it->key().ToStringView(), key);
    auto bytes = decode_event(it->value().ToStringView());
    if (!seq || !bytes)
      return {status_code::data_loss, "a stored event is not in a format this version reads"};
    page_bytes += bytes->size();
    out.events.push_back({*seq, std::string{*bytes}});
  }
  if (!it->status().ok())
    return read_failed(it->status(), faults, "reading a journal");
  return {};
}

status journal_keys(database& db, const family_slot& journal, std::string_view after,
                    std::size_t limit, std::vector<std::string>& out, bool& more,
                    fault_log& faults) {
  more = false;
  auto access = db.use();
  if (!access)
    return closed();
  std::unique_ptr<rocksdb::Iterator> it{access->NewIterator({}, journal.handle)};
  // An actor key holds no zero byte, so every key after `after` has its
  // events at or after journal_end(after); one seek per key skips its events.
  it->Seek(after.empty() ? std::string{} : journal_end(after));
  while (it->Valid()) {
    auto stored = it->key().ToStringView();
    constexpr std::size_t suffix = 1 + sizeof(std::uint64_t);
    if (stored.size() < suffix || stored[stored.size() - suffix] != '\0')
      return {status_code::data_loss, "a stored event key is not in a format this version reads"};
    if (out.size() >= limit) {
      more = true;
      break;
    }
    out.emplace_back(stored.substr(0, stored.size() - suffix));
    it->Seek(journal_end(out.back()));
  }
  if (!it->status().ok())
    return read_failed(it->status(), faults, "listing journals");
  return {};
}

status scan_keys(database& db, const family_slot& family, std::string_view prefix,
                 std::string_view after, std::size_t limit, runtime::kv_range& out,
                 fault_log& faults) {
  auto access = db.use();
  if (!access)
    return closed();
  auto upper = prefix_end(prefix);
  rocksdb::Slice upper_bound{upper};
  rocksdb::ReadOptions options;
  if (!upper.empty())
    options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it{access->NewIterator(options, family.handle)};
  bool from_after = !after.empty() && after >= prefix;
  it->Seek(from_after ? after : prefix);
  if (from_after && it->Valid() && it->key().ToStringView() == after)
    it->Next();
  std::size_t page_bytes = 0;
  for (; it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (!key.starts_with(prefix))
      break;
    if (out.records.size() >= limit || page_bytes >= runtime::page_bytes_bound) {
      if (!out.records.empty())
        out.next = out.records.back().key;
      break;
    }
    auto decoded = decode_value(it->value().ToStringView());
    if (!decoded)
      return {status_code::data_loss, "a stored value is not in a format this version reads"};
    page_bytes += key.size() + decoded->bytes.size();
    out.records.push_back({std::string{key}, decoded->version, std::string{decoded->bytes}});
  }
  if (!it->status().ok())
    return read_failed(it->status(), faults, "a scan");
  return {};
}

} // namespace troupe::persistence
