// troupe_bench_sync_cost DIR [WRITES] — what one synced write costs on the
// disk under DIR, by how the file was prepared: the figure beside
// bench/state's ratios (run.sh prints it), since db_bench's WAL and the
// store's are prepared differently (persistence/src/wal_file_system.hpp).
//
// For each pattern, a fresh file in DIR takes WRITES writes of 128 bytes, each
// followed by fdatasync(), and the mean time per write is printed:
//   growing    appended to an empty file: the size grows with every write
//   keep-size  into space preallocated with FALLOC_FL_KEEP_SIZE (RocksDB's
//              default for a WAL, db_bench's): the size still grows
//   size-set   into space preallocated with the size set (the store's WAL)
//   overwrite  over blocks written and synced before (no metadata changes)
// A pattern the file system cannot prepare (no fallocate) prints "n/a".
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t write_size = 128;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "troupe_bench_sync_cost: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

enum class pattern { growing, keep_size, size_set, overwrite };

/// Mean microseconds per write-and-fdatasync of `writes` writes into a
/// fresh file at `path` prepared as `p`; none when the file system cannot
/// prepare it so.
std::optional<double> cost_of(pattern p, const std::string& path, long writes) {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    die("open " + path);
  auto span = static_cast<off_t>(writes * write_size + 4096);
  int mode = p == pattern::keep_size ? FALLOC_FL_KEEP_SIZE : 0;
  switch (p) {
    case pattern::growing:
      break;
    case pattern::keep_size:
    case pattern::size_set:
      if (::fallocate(fd, mode, 0, span) != 0) {
        if (errno != EOPNOTSUPP)
          die("fallocate " + path);
        ::close(fd);
        ::unlink(path.c_str());
        return std::nullopt;
      }
      break;
    case pattern::overwrite: {
      std::vector<char> zeros(static_cast<std::size_t>(span), '\0');
      if (::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()))
        die("write " + path);
      if (::lseek(fd, 0, SEEK_SET) != 0)
        die("lseek " + path);
      break;
    }
  }
  if (::fsync(fd) != 0)
    die("fsync " + path);
  std::vector<char> record(write_size, 'r');
  auto began = std::chrono::steady_clock::now();
  for (long i = 0; i < writes; ++i) {
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()))
      die("write " + path);
    if (::fdatasync(fd) != 0)
      die("fdatasync " + path);
  }
  auto took = std::chrono::steady_clock::now() - began;
  ::close(fd);
  ::unlink(path.c_str());
  return std::chrono::duration<double, std::micro>(took).count() / static_cast<double>(writes);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: troupe_bench_sync_cost DIR [WRITES=1000]\n");
    return 2;
  }
  std::string dir = argv[1];
  long writes = argc == 3 ? std::atol(argv[2]) : 1000;
  if (writes <= 0 || writes > 1000000) {
    std::fprintf(stderr, "troupe_bench_sync_cost: WRITES must be 1..1000000, not '%s'\n",
                 argc == 3 ? argv[2] : "");
    return 2;
  }
  auto path = dir + "/sync-cost.tmp";
  // Measured first, printed after: a failure prints nothing but its error.
  std::string line = "fdatasync per " + std::to_string(write_size) + "-byte write (us):";
  for (auto [name, p] : {std::pair{"growing", pattern::growing},
                         std::pair{"keep-size", pattern::keep_size},
                         std::pair{"size-set", pattern::size_set},
                         std::pair{"overwrite", pattern::overwrite}}) {
    auto us = cost_of(p, path, writes);
    line += std::string{" "} + name + " " + (us ? std::to_string(std::lround(*us)) : "n/a") + " ";
  }
  line.pop_back();
  std::puts(line.c_str());
  return 0;
}
