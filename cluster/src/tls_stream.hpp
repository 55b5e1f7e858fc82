// Mutual TLS for the consensus log's links, on the raft thread's libuv loop
// (no thread of its own). A tls_link runs TLS on one TCP connection, OpenSSL
// working on memory BIOs while libuv moves the bytes; once the handshake has
// verified the peer's certificate against the cluster CA, it hands on a plain
// uv_stream_t: a uv_pipe_t on one end of a socketpair, whose other end the
// link relays to and from the TLS session in both directions. Whoever gets
// that stream (the challenge-response, then raft) uses it as it would a TCP
// connection and never sees TLS.
//
// Closing either side closes the other: the stream's owner closing it ends
// the TLS session (close_notify) and the connection; the peer closing, or a
// TLS error, closes the socketpair's other end, so that the owner reads EOF.
// Every queue is bounded: a side is not read while more than
// `max_queued_bytes` wait to be written to the other (so its closing, too,
// is seen only once the other side takes bytes again, or the link is
// aborted).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <openssl/ssl.h>
#include <uv.h>

namespace troupe::cluster {

/// The node's certificate and key and the cluster CA, as OpenSSL's context
/// for both ends of a link: TLS 1.3 at least, the peer's certificate required
/// and verified against the CA (no host-name check: the CA is the cluster).
class tls_context {
public:
  /// Throws std::runtime_error (one line naming the file) when a file cannot
  /// be used or the key does not belong to the certificate.
  tls_context(const std::string& cert, const std::string& key, const std::string& ca);

  SSL_CTX* get() const noexcept {
    return ctx_.get();
  }

private:
  struct free_ctx {
    void operator()(SSL_CTX* c) const noexcept {
      SSL_CTX_free(c);
    }
  };
  std::unique_ptr<SSL_CTX, free_ctx> ctx_;
};

class tls_link {
public:
  /// Bytes waiting to be written to one side before the other is no longer
  /// read.
  static constexpr std::size_t max_queued_bytes = 1 << 20;
  /// How long an ending link waits for its last bytes to be written.
  static constexpr std::uint64_t linger_ms = 5'000;

  struct events {
    /// The peer is verified: `plain` is the stream to use, owned by the
    /// callee (uv_close, then raft_free: it was raft_malloc'ed, as raft
    /// expects of the streams it is given).
    std::function<void(uv_stream_t* plain)> ready;
    /// The link ended by itself (not through abort()), before or after
    /// ready; the link is still there, but gone soon after. `connected`:
    /// the TCP connection was made (else connecting failed). `why`: the
    /// fault, naming it (e.g. "its certificate is not signed by the cluster
    /// CA (...)"); empty when the peer closed, having sent nothing, or after
    /// ready without a fault (the plain stream then reads EOF).
    std::function<void(const std::string& why, bool connected)> ended;
  };

  /// `gone(this)` once every handle of the link is closed: then it may be
  /// destroyed (from within the call).
  tls_link(uv_loop_t* loop, const tls_context& tls, events e,
           std::function<void(tls_link*)> gone);
  ~tls_link();

  tls_link(const tls_link&) = delete;
  tls_link& operator=(const tls_link&) = delete;

  /// Client: connects to `addr` and runs the handshake. libuv's error code.
  int connect(const struct sockaddr* addr);

  /// Server: accepts the connection pending on `listener` and runs the
  /// handshake. libuv's error code.
  int accept(uv_stream_t* listener);

  /// No more events: the plain stream is in other hands for good.
  void unwatch() noexcept {
    events_ = {};
  }

  /// Ends the link now, without events; closes its connection at once.
  void abort();

  /// The peer's address as "host:port" (empty before connected).
  const std::string& peer() const noexcept {
    return peer_;
  }

private:
  struct ssl_free {
    void operator()(SSL* s) const noexcept {
      SSL_free(s);
    }
  };
  struct write_req;

  void start_reading_tcp();
  void start_reading_pipe();
  void on_tcp_data(const char* data, std::size_t n);
  void step();
  bool make_plain_stream();
  void on_pipe_data(const char* data, std::size_t n);
  void flush_tls();
  void write(uv_stream_t* to, std::string bytes, std::size_t& queued);
  void wrote(uv_stream_t* to, std::size_t n, int status);
  void end(const std::string& why, bool fault, bool tcp_usable);
  void close_handles();
  void handle_closed();
  std::string describe_failure(int ssl_error, bool handshaking);

  uv_loop_t* loop_;
  events events_;
  std::function<void(tls_link*)> gone_;
  std::unique_ptr<SSL, ssl_free> ssl_;
  BIO* from_peer_ = nullptr;  // owned by ssl_
  BIO* to_peer_ = nullptr;    // owned by ssl_
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  uv_shutdown_t shutdown_req_{};
  uv_pipe_t pipe_{};  // the socketpair's end the link relays
  uv_timer_t linger_{};
  std::string peer_;
  std::string read_buffer_;
  bool tcp_open_ = false;  // tcp_ initialized (to be closed)
  bool connected_ = false;
  bool received_any_ = false;
  bool handshaken_ = false;
  bool pipe_open_ = false;
  bool tcp_reading_ = false;
  bool pipe_reading_ = false;
  bool ended_ = false;
  bool closing_ = false;
  int open_handles_ = 0;
  std::size_t to_tcp_ = 0;   // bytes written to the TCP connection, not yet done
  std::size_t to_pipe_ = 0;  // bytes written to the socketpair, not yet done
};

} // namespace troupe::cluster
