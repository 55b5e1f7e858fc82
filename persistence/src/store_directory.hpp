// The store's directory before RocksDB opens it: this layer's identity file
// (FORMAT) and the checks that refuse a directory rather than re-initialise
// it. Every fault throws storage_error with one line naming the directory.
#pragma once

#include <filesystem>
#include <string>

namespace troupe::persistence {

/// Bumped when the on-disk layout (column families, key or value encoding)
/// changes in a way an older build cannot read.
inline constexpr int store_format = 1;
inline constexpr const char* format_file_name = "FORMAT";

/// "state store DIR": how every message about `dir` starts.
std::string describe(const std::filesystem::path& dir);

/// Checks `dir` and creates it, with its FORMAT file, when it is missing or
/// empty. Returns true when RocksDB is still to be created in it: the
/// directory holds nothing of RocksDB's yet. Throws storage_error when `dir`
/// is not a directory, cannot be written, is not empty but has no FORMAT
/// file, or has a FORMAT file of another format.
bool prepare_store_directory(const std::filesystem::path& dir);

/// Throws storage_error unless `dir` holds a FORMAT file of store_format.
void check_format_file(const std::filesystem::path& dir);

/// Writes `dir`'s FORMAT file durably: a temporary file synced and renamed,
/// then the directory synced.
void write_format_file(const std::filesystem::path& dir);

/// Syncs a directory's entries (after files were created or renamed in it).
void sync_directory(const std::filesystem::path& dir);

} // namespace troupe::persistence
