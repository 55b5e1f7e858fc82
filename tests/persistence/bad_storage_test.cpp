// Bad storage: a directory that is not a store, of another format, corrupt,
// in use by another process, or not writable stops the open with one line
// naming it and the fault, and is left as it was. A full disk turns writes
// into `unavailable`, keeps what was acknowledged, and heals by itself.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "fault_fs.hpp"
#include "store_support.hpp"

using namespace troupe::persistence;
using namespace troupe::persistence::testing;
using troupe::status_code;

namespace {

/// The files of a directory that hold data, with their contents (RocksDB's
/// LOG files, which any open attempt appends to, and LOCK are left out).
std::map<std::string, std::string> data_files(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    auto name = e.path().filename().string();
    if (name.rfind("LOG", 0) == 0 || name == "LOCK")
      continue;
    std::ifstream in{e.path(), std::ios::binary};
    out[name] = std::string{std::istreambuf_iterator<char>{in}, {}};
  }
  return out;
}

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out{file, std::ios::binary | std::ios::trunc};
  out << text;
}

/// A store with data in a table file (flushed) and in the WAL.
void make_store(const std::filesystem::path& dir) {
  auto opened = rocksdb_store::impl::open(dir, {});
  auto* internals = opened.get();
  rocksdb_store store{std::move(opened)};
  REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
  REQUIRE(save(store, "svc", "flushed", 0, "in a table").is_ok());
  flush_all(*internals);
  REQUIRE(save(store, "svc", "logged", 0, "in the WAL").is_ok());
}

std::filesystem::path file_ending(const std::filesystem::path& dir, const std::string& tail,
                                  const std::string& head = "") {
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    auto name = e.path().filename().string();
    if (ends_with(name, tail) && name.rfind(head, 0) == 0)
      return e.path();
  }
  FAIL("no file " << head << "*" << tail << " in " << dir);
  return {};
}

bool is_one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == std::string::npos;
}

/// A small tmpfs mounted for one test (root only); unmounted at the end.
class tmpfs {
public:
  tmpfs(const std::filesystem::path& at, const std::string& size) : at_(at) {
    std::filesystem::create_directories(at);
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~tmpfs() {
    if (mounted_)
      ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const {
    return mounted_;
  }
  bool remount_read_only() {
    return ::mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

} // namespace

TEST_CASE("a directory that is not empty and not a store is refused", "[persistence][bad]") {
  temp_dir dir;
  write_file(dir / "notes.txt", "someone's data");
  auto error = open_error(dir.path());
  CHECK(is_one_line(error));
  CHECK_THAT(error, Catch::Contains(dir.path().string())
                      && Catch::Contains("not a Troupe state store"));
  CHECK(data_files(dir.path()) == std::map<std::string, std::string>{{"notes.txt", "someone's data"}});

  SECTION("a path that is a file") {
    auto file = dir / "notes.txt";
    CHECK_THAT(open_error(file), Catch::Contains("is not a directory"));
  }
}

TEST_CASE("a store of another format version is refused and left as it was",
          "[persistence][bad]") {
  temp_dir dir;
  make_store(dir.path());
  SECTION("a newer format") {
    write_file(dir / "FORMAT", "troupe state store\nformat 2\n");
    auto before = data_files(dir.path());
    auto error = open_error(dir.path());
    CHECK(is_one_line(error));
    CHECK_THAT(error, Catch::Contains("has format 2") && Catch::Contains("reads format 1"));
    CHECK(data_files(dir.path()) == before);
  }
  SECTION("a damaged FORMAT file") {
    write_file(dir / "FORMAT", "\x01\x02garbage");
    auto before = data_files(dir.path());
    CHECK_THAT(open_error(dir.path()), Catch::Contains("damaged FORMAT file"));
    CHECK(data_files(dir.path()) == before);
  }
  SECTION("no FORMAT file") {
    std::filesystem::remove(dir / "FORMAT");
    auto before = data_files(dir.path());
    CHECK_THAT(open_error(dir.path()), Catch::Contains("no FORMAT file"));
    CHECK(data_files(dir.path()) == before);
  }
}

TEST_CASE("a corrupt store is refused with one line and left as it was", "[persistence][bad]") {
  temp_dir dir;
  make_store(dir.path());
  SECTION("CURRENT names a manifest that is not there") {
    write_file(dir / "CURRENT", "MANIFEST-999999\n");
  }
  SECTION("the manifest is garbage") {
    auto manifest = file_ending(dir.path(), "", "MANIFEST-");
    write_file(manifest, std::string(4096, '\x5a'));
  }
  SECTION("a table file is garbage") {
    auto table = file_ending(dir.path(), ".sst");
    write_file(table, std::string(8192, '\x5a'));
  }
  SECTION("CURRENT is gone") {
    std::filesystem::remove(dir / "CURRENT");
  }
  auto before = data_files(dir.path());
  auto error = open_error(dir.path());
  INFO(error);
  CHECK(is_one_line(error));
  CHECK_THAT(error, Catch::StartsWith("state store " + dir.path().string() + " is corrupt"));
  CHECK_THAT(error, Catch::Contains("left as it is"));
  CHECK(data_files(dir.path()) == before);
}

TEST_CASE("a store in use by another process is refused", "[persistence][bad]") {
  temp_dir dir;
  make_store(dir.path());
  SECTION("another process") {
    // The child holds the store open until its stdin closes (child_process).
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(in[1]);
      ::close(out[0]);
      ::execl(TROUPE_PERSISTENCE_CHILD, TROUPE_PERSISTENCE_CHILD, "hold",
              dir.path().c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    char opened[5] = {};
    REQUIRE(::read(out[0], opened, 5) == 5);  // "open\n"
    auto error = open_error(dir.path());
    ::close(in[1]);
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(is_one_line(error));
    CHECK(error == "state store " + dir.path().string()
                     + " is in use by another process (its LOCK is held)");
  }
  SECTION("another store in this process") {
    rocksdb_store first{dir.path()};
    CHECK_THAT(open_error(dir.path()), Catch::Contains("is in use by another process"));
    CHECK(load(first, "svc", "logged").bytes == "in the WAL");
  }
  // Once the holder is gone, it opens with everything in it.
  rocksdb_store store{dir.path()};
  CHECK(load(store, "svc", "flushed").bytes == "in a table");
}

TEST_CASE("a store that cannot be written is refused", "[persistence][bad]") {
  temp_dir dir;
  if (::geteuid() != 0) {
    // Without root, permissions stop writes.
    make_store(dir / "state");
    std::filesystem::permissions(dir / "state", std::filesystem::perms::owner_read
                                                  | std::filesystem::perms::owner_exec);
    auto error = open_error(dir / "state");
    std::filesystem::permissions(dir / "state", std::filesystem::perms::owner_all);
    CHECK(is_one_line(error));
    CHECK_THAT(error, Catch::Contains("is not writable"));
    return;
  }
  // Root writes through permissions: a read-only file system stops it.
  tmpfs fs{dir / "mnt", "16m"};
  if (!fs.mounted()) {
    WARN("cannot mount a tmpfs here: the unwritable case is not checked");
    return;
  }
  make_store(dir / "mnt" / "state");
  REQUIRE(fs.remount_read_only());
  auto error = open_error(dir / "mnt" / "state");
  CHECK(is_one_line(error));
  CHECK(error == "state store " + (dir / "mnt" / "state").string()
                   + " is not writable: Read-only file system");
  SECTION("a store to be created there") {
    CHECK_THAT(open_error(dir / "mnt" / "new"),
               Catch::Contains("cannot be created") && Catch::Contains("Read-only file system"));
  }
}

TEST_CASE("a failing disk turns writes into unavailable and the store heals by itself",
          "[persistence][bad]") {
  temp_dir dir;
  fault_switches sw;
  std::vector<std::string> faults;
  std::mutex faults_mtx;
  store_options options;
  options.on_fault = [&](const std::string& line) {
    std::lock_guard guard{faults_mtx};
    faults.push_back(line);
  };
  {
    rocksdb_store store{rocksdb_store::impl::open(dir.path(), options, fault_env(sw))};
    release_at_exit release{sw};
    REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
    REQUIRE(store.open_namespace("batched", batched_namespace(std::chrono::milliseconds{20})).is_ok());
    REQUIRE(save(store, "svc", "k", 0, "acknowledged").is_ok());
    REQUIRE(save(store, "batched", "k", 0, "acknowledged").is_ok());

    sw.no_space = true;
    auto failed = save(store, "svc", "k", 1, "not stored");
    CHECK(failed.code() == status_code::unavailable);
    CHECK(failed.message() == "the state store cannot write now");
    CHECK(save(store, "batched", "k", 1, "not stored").code() == status_code::unavailable);
    CHECK(erase(store, "svc", "k").code() == status_code::unavailable);
    // What was acknowledged is there, and loads go on.
    CHECK(load(store, "svc", "k").bytes == "acknowledged");
    CHECK(load(store, "batched", "k").bytes == "acknowledged");
    auto f = store.figures();
    CHECK(f.writes_failed == 3);
    CHECK_THAT(f.last_fault, Catch::Contains("No space left"));
    {
      std::lock_guard guard{faults_mtx};
      CHECK_FALSE(faults.empty());
    }

    // Space returns: writes succeed again without anyone's help.
    sw.no_space = false;
    REQUIRE(eventually([&] { return save_quietly(store, "svc", "k", 1, "healed").is_ok(); },
                       std::chrono::seconds{30}));
    CHECK(load(store, "svc", "k").bytes == "healed");
    REQUIRE(save(store, "batched", "k", 1, "healed").is_ok());
  }
  rocksdb_store reopened{dir.path()};
  CHECK(load(reopened, "svc", "k").bytes == "healed");
  CHECK(load(reopened, "svc", "k").version == 2);
  CHECK(load(reopened, "batched", "k").bytes == "healed");
}

TEST_CASE("a full file system turns writes into unavailable and the store heals by itself",
          "[persistence][bad]") {
  temp_dir dir;
  if (::geteuid() != 0) {
    WARN("not root: no tmpfs to fill; the injected disk-full test covers this");
    return;
  }
  tmpfs fs{dir / "mnt", "8m"};
  if (!fs.mounted()) {
    WARN("cannot mount a tmpfs here: the injected disk-full test covers this");
    return;
  }
  auto store_dir = dir / "mnt" / "state";
  // Room to give back once the disk is full: more than a memtable (1 MB),
  // which the reopen replays from the WAL and flushes.
  write_file(dir / "mnt" / "reserve", std::string(std::size_t{2} << 20, 'r'));
  store_options options;
  options.memtable_bytes = std::size_t{1} << 20;
  options.block_compression = store_options::compression::none;
  std::vector<std::string> acked;
  {
    rocksdb_store store{store_dir, options};
    REQUIRE(store.open_namespace("svc", sync_namespace()).is_ok());
    troupe::status failed;
    for (int i = 0; i < 1000 && failed.is_ok(); ++i) {
      auto key = "key-" + std::to_string(i);
      failed = save(store, "svc", key, 0, std::string(32 << 10, static_cast<char>('a' + i % 26)));
      if (failed.is_ok())
        acked.push_back(key);
    }
    REQUIRE_FALSE(failed.is_ok());
    CHECK(failed.code() == status_code::unavailable);
    INFO(store.figures().last_fault);
    CHECK_FALSE(acked.empty());
    CHECK(load(store, "svc", acked.front()).version == 1);

    std::filesystem::remove(dir / "mnt" / "reserve");
    REQUIRE(eventually([&] { return save_quietly(store, "svc", "after", 0, "x").is_ok(); },
                       std::chrono::seconds{60}));
  }
  rocksdb_store reopened{store_dir, options};
  for (std::size_t i = 0; i < acked.size(); ++i) {
    auto s = load(reopened, "svc", acked[i]);
    CHECK(s.version == 1);
    CHECK(s.bytes == std::string(32 << 10, static_cast<char>('a' + i % 26)));
  }
  CHECK(load(reopened, "svc", "after").version == 1);
}
