// Connections to other nodes' cluster links, made on threads of its own:
// CAF's remote_actor blocks its caller (and its middleman actor connects
// with a blocking connect(), which a peer behind a dropped route holds for
// minutes), so it must never run in an actor's handler. Each attempt first
// opens a plain TCP connection with a short timeout: a node that is gone
// answers "refused" at once, an unreachable one times out, and only a peer
// that answered gets the middleman's connect, itself bounded in time.
//
// Attempts wait in a bounded queue (one per peer and kind at most is the
// caller's business); past the bound an attempt fails at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe::cluster {

struct connect_result {
  caf::actor peer;      // the peer's published actor; invalid on failure
  bool refused = false; // nothing listens there (the peer's process is gone)
  std::string error;    // on failure
};

class connector {
public:
  using done_fn = std::function<void(connect_result)>;

  connector(caf::actor_system& system, bool tls, std::size_t threads = 2);
  ~connector();

  connector(const connector&) = delete;
  connector& operator=(const connector&) = delete;

  /// Connects to host:port; `done` runs on a connector thread.
  void connect(std::string host, std::uint16_t port, done_fn done);

  /// Ends the threads; attempts still queued get an error.
  void stop();

private:
  struct job {
    std::string host;
    std::uint16_t port;
    done_fn done;
  };

  void work();
  connect_result attempt(const job& j);

  caf::actor_system& system_;
  bool tls_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// Opens (and closes) a TCP connection to host:port within `timeout`: empty
/// when it connected, else why not; `refused` set when the peer refused it.
std::string probe_tcp(const std::string& host, std::uint16_t port,
                      std::chrono::milliseconds timeout, bool& refused);

} // namespace troupe::cluster
