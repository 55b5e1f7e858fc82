// The store's range reads, run on its reader threads (reader_pool's jobs):
// a page of a key's event journal, and a page of a key-value namespace's
// keys by prefix. Each reads one RocksDB iterator over a bounded range and
// stops after `limit` entries or runtime::page_bytes_bound bytes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "database.hpp"
#include "fault_log.hpp"
#include "troupe/runtime/state_store.hpp"
#include "troupe/status.hpp"

namespace troupe::persistence {

/// The events of `key`'s journal in `journal` numbered `from_seq` and after,
/// at most `limit`, into `out`.
status read_journal(database& db, const family_slot& journal, std::string_view key,
                    std::uint64_t from_seq, std::size_t limit, runtime::journal_page& out,
                    fault_log& faults);

/// The keys of `family` that start with `prefix`, after `after`, at most
/// `limit`, into `out` (runtime::state_store::scan).
status scan_keys(database& db, const family_slot& family, std::string_view prefix,
                 std::string_view after, std::size_t limit, runtime::kv_range& out,
                 fault_log& faults);

/// The actor keys that have a journal in `journal`, after `after`, at most
/// `limit`, into `out`; `more`: keys follow the last of them.
status journal_keys(database& db, const family_slot& journal, std::string_view after,
                    std::size_t limit, std::vector<std::string>& out, bool& more,
                    fault_log& faults);

} // namespace troupe::persistence
