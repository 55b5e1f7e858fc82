// The file system the store gives RocksDB: another one (the machine's, or a
// test's faulty one) with the write-ahead log's space preallocated with the
// file's size set, so that a synced write costs one write of data and not a
// metadata update besides.
//
// RocksDB preallocates a WAL with FALLOC_FL_KEEP_SIZE: every write grows the
// file, so every fdatasync() after one must also store the inode's new size —
// on a journaling file system, a journal commit per synced write, more than
// the data's own write. With the size set when the space is allocated, a
// synced write only fills space the file already has. (RocksDB's own POSIX
// file system says as much, and keeps KEEP_SIZE for the sake of a test of its
// transaction-log iterator, which the store does not use. The figures per
// file system are in docs/benchmarks.md.)
//
// What changes on disk: a WAL that was not closed (a crash) ends in zeros up
// to its preallocated size. RocksDB's log reader skips zeroed blocks, as it
// does for files written through mmap, so recovery finds the same records; a
// closed WAL is truncated to its data, as before.
//
// What RocksDB is told: the size of a WAL being written is the size of what
// was written to it, not of its preallocation. A checkpoint copies a live
// WAL up to the size it is told, so it copies no zeros, and no records
// written after it listed the file (a partly copied record among them would
// leave a hole in what the copy recovers).
#pragma once

#include <memory>

namespace rocksdb {
class FileSystem;
}

namespace troupe::persistence {

/// `base`, with the store's write-ahead logs preallocated as above.
std::shared_ptr<rocksdb::FileSystem> make_wal_file_system(
  std::shared_ptr<rocksdb::FileSystem> base);

} // namespace troupe::persistence
