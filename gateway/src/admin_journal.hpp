// GET /admin/v1/services/{name}/journal/{key}?from=N&limit=M: a page of one
// key's event journal with the key's latest snapshot, as a JournalPage
// (proto/troupe/admin_journal.proto). `from` defaults to 1, `limit` to 100
// and is at most admin_journal_max_limit, so one answer is bounded; a page
// also ends early past the store's page byte bound, and next_from says
// where the next one starts. 404 for a service that is not here or keeps no
// journal, 400 for a bad `from` or `limit`, the store's failures mapped as a
// call's are (503 for an unavailable store).
#pragma once

#include <cstddef>

#include "admin_api.hpp"
#include "responder.hpp"

namespace troupe::gateway {

inline constexpr std::size_t admin_journal_default_limit = 100;
inline constexpr std::size_t admin_journal_max_limit = 1000;

/// Answers the journal request `request` through `respond`, from the state
/// store's threads (the JSON is printed on the connection's I/O thread).
void serve_journal(runtime::node& node, const admin_request& request, responder respond);

} // namespace troupe::gateway
