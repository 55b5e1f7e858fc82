// The consensus log's network links: raft's own TCP transport (raft_uv_tcp)
// with a challenge-response on every new connection, so that only nodes of
// the same cluster that know its secret take part in the log. Raft's
// transport has no authentication of its own.
//
// After raft's own preamble (version, server id, address), on each new
// connection:
//   acceptor  -> "TRA1" + 16-byte nonce S
//   connector -> "TRC1" + SHA-256(cluster name) + 16-byte nonce C
//                + HMAC(secret, "raft-connect", cluster, S, C)
//   acceptor  -> 1 code byte (0 accepted, 1 another cluster, 2 wrong secret)
//                + HMAC(secret, "raft-accept", cluster, C, S)
// and only then does raft get the stream. Both sides log a refusal, naming
// the peer and the reason. A handshake that does not finish within 5 s is
// dropped. The link is authenticated, not encrypted (membership only: the
// calls between nodes go over CAF's links, which TLS covers).
//
// Runs on the raft thread's libuv loop, like raft itself.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "raft_c.hpp"

namespace troupe::cluster {

class auth_transport {
public:
  /// `refused(line)`: a connection was refused, either way (for the log).
  auth_transport(uv_loop_t* loop, std::string cluster_name, std::string secret,
                 std::function<void(const std::string&)> refused);
  ~auth_transport();

  auth_transport(const auth_transport&) = delete;
  auth_transport& operator=(const auth_transport&) = delete;

  /// Initializes raft's TCP transport inside, listening on `bind_address`
  /// when not empty (else on the address raft is given); raft's error code.
  int init(const std::string& bind_address = {});

  /// What to hand raft_uv_init().
  raft_uv_transport* transport() noexcept {
    return &outer_.transport;
  }

  struct handshake;

private:
  static int do_init(raft_uv_transport* t, raft_id id, const char* address);
  static int do_listen(raft_uv_transport* t, raft_uv_accept_cb cb);
  static int do_connect(raft_uv_transport* t, raft_uv_connect* req, raft_id id,
                        const char* address, raft_uv_connect_cb cb);
  static void do_close(raft_uv_transport* t, raft_uv_transport_close_cb cb);

  static void inner_accepted(raft_uv_transport* inner, raft_id id, const char* address,
                             uv_stream_t* stream);
  static void inner_connected(raft_uv_connect* req, uv_stream_t* stream, int status);
  static void inner_closed(raft_uv_transport* inner);

  friend struct handshake;
  void finished(handshake* h);
  void maybe_closed();

  uv_loop_t* loop_;
  std::string cluster_;
  std::string secret_;
  std::function<void(const std::string&)> refused_;
  // What raft gets. Raft keeps its own pointer in the transport's `data`, so
  // the way back to this object is the holder the transport is the first
  // member of.
  struct holder {
    raft_uv_transport transport;
    auth_transport* owner;
  };
  static auth_transport* owner_of(raft_uv_transport* t) {
    return reinterpret_cast<holder*>(t)->owner;
  }
  holder outer_{};
  raft_uv_transport inner_{};
  bool inner_ready_ = false;
  raft_uv_accept_cb accept_cb_ = nullptr;
  raft_uv_transport_close_cb close_cb_ = nullptr;
  bool closing_ = false;
  bool inner_closed_ = false;
  handshake* handshakes_ = nullptr;  // in progress (a list)
};

} // namespace troupe::cluster
