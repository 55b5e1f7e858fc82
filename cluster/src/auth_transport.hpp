// The consensus log's network links, and who may take part in the log: only
// nodes of the same cluster that know its secret and, when the node has TLS
// (--tls-cert, --tls-key, --tls-ca), hold a certificate signed by the
// cluster CA. Raft's transport has no authentication of its own.
//
// Without TLS, raft's own TCP transport (raft_uv_tcp) with a challenge-
// response on every new connection: authenticated, not encrypted. With TLS,
// this transport owns the TCP connections: the consensus port speaks TLS from
// the first byte (mutual, TLS 1.3, tls_stream.hpp) and everything below runs
// inside it, so the log's traffic is encrypted too.
//
// On each new connection, after TLS if any, the connector sends raft's
// preamble (version, server id, address; raft_uv_tcp sends it itself), then:
//   acceptor  -> "TRA1" + 16-byte nonce S
//   connector -> "TRC1" + SHA-256(cluster name) + 16-byte nonce C
//                + HMAC(secret, "raft-connect", cluster, S, C)
//   acceptor  -> 1 code byte (0 accepted, 1 another cluster, 2 wrong secret)
//                + HMAC(secret, "raft-accept", cluster, C, S)
// and only then does raft get the stream. Both sides log a refusal, naming
// the peer and the reason (a certificate not signed by the cluster CA,
// another cluster, a wrong secret, no answer). A handshake (TLS included)
// that does not finish within 5 s is dropped; with TLS, at most 128 run at a
// time and further connections are closed at once.
//
// Runs on the raft thread's libuv loop, like raft itself.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "raft_c.hpp"
#include "tls_stream.hpp"

namespace troupe::cluster {

class auth_transport {
public:
  /// `refused(line)`: a connection was refused, either way (for the log).
  /// `tls`: null, or the node's TLS context, which must outlive this.
  auth_transport(uv_loop_t* loop, std::string cluster_name, std::string secret,
                 std::function<void(const std::string&)> refused,
                 const tls_context* tls = nullptr);
  ~auth_transport();

  auth_transport(const auth_transport&) = delete;
  auth_transport& operator=(const auth_transport&) = delete;

  /// Listens on `bind_address` when not empty (else on the address raft is
  /// given); without TLS it initializes raft's TCP transport inside. Raft's
  /// error code.
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
  handshake* add_handshake();

  // With TLS: the TCP connections are this transport's own.
  int tls_init(raft_id id, const char* address);
  int tls_listen();
  int tls_connect(raft_uv_connect* req, raft_id id, const char* address, raft_uv_connect_cb cb);
  void tls_close();
  static void tls_incoming(uv_stream_t* listener, int status);
  tls_link* new_link(handshake* h);

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
  // In progress; each is freed once nothing refers to it (finished()).
  std::list<std::unique_ptr<handshake>> handshakes_;

  const tls_context* tls_;
  std::string bind_address_;
  raft_id self_id_ = 0;
  std::string self_address_;
  uv_tcp_t listener_{};
  bool listener_open_ = false;
  // Every TLS link, from its connection until its last handle is closed:
  // handshaking, or relaying for raft.
  std::unordered_map<tls_link*, std::unique_ptr<tls_link>> links_;
};

} // namespace troupe::cluster
