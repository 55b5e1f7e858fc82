// The state schemas stored in the "meta" column family, one record per
// distinct schema a service's namespace was ever opened with:
//   key   "schema/<service>/<u64 sequence, big endian>"
//         ("event-schema/<service>/..." for the event messages of a
//         journaling namespace)
//   value [u8 record format = 1][u32 LE length of the type name][type name]
//         [serialized FileDescriptorSet]
// All are kept, not only the last: state written by any of them may still be
// stored, so a new schema must read every one (a field number dropped by one
// version and reused with another type by the next is caught this way).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "troupe/persistence/schema_check.hpp"
#include "troupe/status.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}

namespace troupe::persistence {

struct stored_schema {
  std::uint64_t sequence;
  state_schema schema;
};

/// Which message a schema record describes.
enum class schema_kind { state, events };

/// The schemas stored for `service`, oldest first.
status read_schemas(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, std::string_view service,
                    std::vector<stored_schema>& out, schema_kind kind = schema_kind::state);

/// Stores `schema` as `service`'s newest, synced before it returns.
status append_schema(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, std::string_view service,
                     const state_schema& schema, schema_kind kind = schema_kind::state);

} // namespace troupe::persistence
