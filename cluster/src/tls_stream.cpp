#include "tls_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "raft_c.hpp"

namespace troupe::cluster {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

/// OpenSSL's queued errors as one text, emptying the queue.
std::string openssl_errors(int* last_reason = nullptr) {
  std::string out;
  while (auto e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty())
      out += "; ";
    out += reason != nullptr ? reason : "error " + std::to_string(e);
    if (last_reason != nullptr)
      *last_reason = ERR_GET_REASON(e);
  }
  return out;
}

[[noreturn]] void refuse_file(const std::string& option, const std::string& path,
                              const std::string& what) {
  auto errors = openssl_errors();
  throw std::runtime_error("--" + option + " " + path + ": " + what
                           + (errors.empty() ? "" : " (" + errors + ")"));
}

std::string peer_name(const uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int length = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    return "an unknown address";
  char host[64] = {};
  int port = 0;
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(in6, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return std::string{"["} + host + "]:" + std::to_string(port);
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(&addr);
  uv_ip4_name(in4, host, sizeof host);
  port = ntohs(in4->sin_port);
  return std::string{host} + ":" + std::to_string(port);
}

void free_raft_handle(uv_handle_t* handle) {
  raft_free(handle);
}

} // namespace

// -- the context ----------------------------------------------------------------

tls_context::tls_context(const std::string& cert, const std::string& key, const std::string& ca)
  : ctx_(SSL_CTX_new(TLS_method())) {
  if (!ctx_)
    throw std::runtime_error("OpenSSL: no TLS context (" + openssl_errors() + ")");
  auto* c = ctx_.get();
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1)
    refuse_file("tls-cert", cert, "not a usable PEM certificate");
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
    refuse_file("tls-key", key, "not a usable PEM private key");
  if (SSL_CTX_check_private_key(c) != 1)
    refuse_file("tls-key", key, "not the key of the certificate " + cert);
  if (SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr) != 1)
    refuse_file("tls-ca", ca, "not a usable PEM certificate");
  // The CA named in the certificate request, so that a client holding
  // several certificates picks the cluster's.
  if (auto* names = SSL_load_client_CA_file(ca.c_str()))
    SSL_CTX_set_client_CA_list(c, names);
  ERR_clear_error();
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // A link lives as long as the nodes do; resuming sessions would only add
  // messages after the handshake and state to keep.
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
}

// -- the link ---------------------------------------------------------------------

struct tls_link::write_req {
  uv_write_t req{};
  tls_link* owner = nullptr;
  std::string bytes;
};

tls_link::tls_link(uv_loop_t* loop, const tls_context& tls, events e,
                   std::function<void(tls_link*)> gone)
  : loop_(loop), events_(std::move(e)), gone_(std::move(gone)),
    ssl_(SSL_new(tls.get())), read_buffer_(read_chunk, '\0') {
  if (!ssl_)
    throw std::runtime_error("OpenSSL: no TLS session (" + openssl_errors() + ")");
  from_peer_ = BIO_new(BIO_s_mem());
  to_peer_ = BIO_new(BIO_s_mem());
  if (from_peer_ == nullptr || to_peer_ == nullptr) {
    BIO_free(from_peer_);
    BIO_free(to_peer_);
    throw std::runtime_error("OpenSSL: no memory BIO");
  }
  // An empty input BIO means "wait for more", not end of stream: the end of
  // the stream is libuv's to tell.
  BIO_set_mem_eof_return(from_peer_, -1);
  SSL_set_bio(ssl_.get(), from_peer_, to_peer_);
  uv_timer_init(loop_, &linger_);
  linger_.data = this;
  ++open_handles_;
}

tls_link::~tls_link() = default;

int tls_link::connect(const struct sockaddr* addr) {
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
  tcp_open_ = true;
  ++open_handles_;
  connect_req_.data = this;
  return uv_tcp_connect(&connect_req_, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<tls_link*>(req->data);
    if (status == UV_ECANCELED || self->ended_)
      return;
    if (status != 0) {
      self->end(std::string{"cannot connect: "} + uv_strerror(status), true, false);
      return;
    }
    self->connected_ = true;
    self->peer_ = peer_name(&self->tcp_);
    uv_tcp_nodelay(&self->tcp_, 1);
    SSL_set_connect_state(self->ssl_.get());
    self->start_reading_tcp();
    self->step();  // the ClientHello
  });
}

int tls_link::accept(uv_stream_t* listener) {
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
  tcp_open_ = true;
  ++open_handles_;
  if (auto rv = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)); rv != 0)
    return rv;
  connected_ = true;
  peer_ = peer_name(&tcp_);
  uv_tcp_nodelay(&tcp_, 1);
  SSL_set_accept_state(ssl_.get());
  start_reading_tcp();
  return 0;
}

void tls_link::abort() {
  events_ = {};
  end({}, false, false);
  close_handles();  // also when it was ending already, lingering
}

void tls_link::start_reading_tcp() {
  tcp_reading_ = true;
  uv_read_start(
    reinterpret_cast<uv_stream_t*>(&tcp_),
    [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
      auto* self = static_cast<tls_link*>(handle->data);
      *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(read_chunk));
    },
    [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
      auto* self = static_cast<tls_link*>(stream->data);
      if (nread == 0)
        return;
      if (self->ended_) {
        // Ending after a fault: the peer's last bytes are read and dropped
        // until it closes, so that closing does not reset the connection
        // before the peer has read the alert that says why.
        if (nread < 0)
          self->close_handles();
        return;
      }
      if (nread < 0) {
        if (self->handshaken_)
          self->end({}, false, false);
        else if (nread == UV_EOF)
          self->end(self->received_any_ ? "the connection closed during the TLS handshake"
                                        : std::string{},
                    true, false);
        else
          self->end(std::string{"the connection broke during the TLS handshake: "}
                      + uv_strerror(static_cast<int>(nread)),
                    true, false);
        return;
      }
      self->on_tcp_data(buf->base, static_cast<std::size_t>(nread));
    });
}

void tls_link::on_tcp_data(const char* data, std::size_t n) {
  received_any_ = true;
  BIO_write(from_peer_, data, static_cast<int>(n));
  step();
}

void tls_link::step() {
  auto* ssl = ssl_.get();
  if (!handshaken_) {
    ERR_clear_error();
    auto rv = SSL_do_handshake(ssl);
    if (rv != 1) {
      auto error = SSL_get_error(ssl, rv);
      flush_tls();  // what the handshake has to say next, or its alert
      if (error != SSL_ERROR_WANT_READ)
        end(describe_failure(error, true), true, true);
      return;
    }
    flush_tls();
    handshaken_ = true;
    if (!make_plain_stream() || ended_)
      return;
  }
  // Relay what the peer sent, all of it: the input BIO never holds more
  // than one read's worth.
  char record[16 * 1024];  // SSL_read gives at most one record
  for (;;) {
    ERR_clear_error();
    auto n = SSL_read(ssl, record, static_cast<int>(sizeof record));
    if (n > 0) {
      write(reinterpret_cast<uv_stream_t*>(&pipe_), std::string(record, static_cast<std::size_t>(n)),
            to_pipe_);
      if (ended_)
        return;
      continue;
    }
    auto error = SSL_get_error(ssl, n);
    if (error == SSL_ERROR_WANT_READ)
      break;
    if (error == SSL_ERROR_ZERO_RETURN) {  // the peer's close_notify
      end({}, false, true);
      return;
    }
    flush_tls();
    end(describe_failure(error, false), true, true);
    return;
  }
  flush_tls();
  if (to_pipe_ > max_queued_bytes && tcp_reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    tcp_reading_ = false;
  }
}

bool tls_link::make_plain_stream() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    end(std::string{"no socketpair: "} + std::strerror(errno), true, true);
    return false;
  }
  auto* plain = static_cast<uv_pipe_t*>(raft_malloc(sizeof(uv_pipe_t)));
  if (plain == nullptr) {
    ::close(fds[0]);
    ::close(fds[1]);
    end("out of memory", true, true);
    return false;
  }
  uv_pipe_init(loop_, plain, 0);
  uv_pipe_init(loop_, &pipe_, 0);
  pipe_.data = this;
  pipe_open_ = true;
  ++open_handles_;
  auto rv_plain = uv_pipe_open(plain, fds[0]);
  auto rv_pipe = uv_pipe_open(&pipe_, fds[1]);
  if (rv_plain != 0 || rv_pipe != 0) {
    if (rv_plain != 0)
      ::close(fds[0]);
    if (rv_pipe != 0)
      ::close(fds[1]);
    uv_close(reinterpret_cast<uv_handle_t*>(plain), free_raft_handle);
    end(std::string{"the local stream cannot be opened: "}
          + uv_strerror(rv_plain != 0 ? rv_plain : rv_pipe),
        true, true);
    return false;
  }
  start_reading_pipe();
  if (events_.ready)
    events_.ready(reinterpret_cast<uv_stream_t*>(plain));
  else
    uv_close(reinterpret_cast<uv_handle_t*>(plain), free_raft_handle);
  return true;
}

void tls_link::start_reading_pipe() {
  pipe_reading_ = true;
  uv_read_start(
    reinterpret_cast<uv_stream_t*>(&pipe_),
    [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
      auto* self = static_cast<tls_link*>(handle->data);
      *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(read_chunk));
    },
    [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
      auto* self = static_cast<tls_link*>(stream->data);
      if (nread == 0 || self->ended_)
        return;
      if (nread < 0) {  // the stream's owner closed it: end the session
        self->end({}, false, true);
        return;
      }
      self->on_pipe_data(buf->base, static_cast<std::size_t>(nread));
    });
}

void tls_link::on_pipe_data(const char* data, std::size_t n) {
  ERR_clear_error();
  // A memory BIO takes everything: SSL_write writes all or fails.
  auto rv = SSL_write(ssl_.get(), data, static_cast<int>(n));
  if (rv <= 0) {
    auto error = SSL_get_error(ssl_.get(), rv);
    flush_tls();
    end(describe_failure(error, false), true, true);
    return;
  }
  flush_tls();
  if (to_tcp_ > max_queued_bytes && pipe_reading_ && !ended_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
    pipe_reading_ = false;
  }
}

void tls_link::flush_tls() {
  while (!closing_ && tcp_open_) {
    auto pending = BIO_ctrl_pending(to_peer_);
    if (pending == 0)
      return;
    std::string bytes(pending, '\0');
    auto n = BIO_read(to_peer_, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0)
      return;
    bytes.resize(static_cast<std::size_t>(n));
    write(reinterpret_cast<uv_stream_t*>(&tcp_), std::move(bytes), to_tcp_);
  }
}

void tls_link::write(uv_stream_t* to, std::string bytes, std::size_t& queued) {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(to)))
    return;
  auto req = std::make_unique<write_req>();
  req->owner = this;
  req->bytes = std::move(bytes);
  req->req.data = req.get();
  auto buf = uv_buf_init(req->bytes.data(), static_cast<unsigned>(req->bytes.size()));
  auto size = req->bytes.size();
  auto rv = uv_write(&req->req, to, &buf, 1, [](uv_write_t* w, int status) {
    std::unique_ptr<write_req> done{static_cast<write_req*>(w->data)};
    done->owner->wrote(w->handle, done->bytes.size(), status);
  });
  if (rv != 0) {
    // The request never started: it is ours to drop.
    if (to == reinterpret_cast<uv_stream_t*>(&tcp_))
      end(handshaken_ ? std::string{} : "the connection broke during the TLS handshake",
          !handshaken_, false);
    else
      end({}, false, true);
    return;
  }
  queued += size;
  req.release();  // the callback owns it
}

void tls_link::wrote(uv_stream_t* to, std::size_t n, int status) {
  bool to_tcp = to == reinterpret_cast<uv_stream_t*>(&tcp_);
  (to_tcp ? to_tcp_ : to_pipe_) -= n;
  if (ended_ || status == UV_ECANCELED)
    return;
  if (status < 0) {
    if (to_tcp)
      end(handshaken_ ? std::string{} : "the connection broke during the TLS handshake",
          !handshaken_, false);
    else
      end({}, false, true);
    return;
  }
  // Below half the bound again: read the other side again.
  if (to_tcp && to_tcp_ <= max_queued_bytes / 2 && pipe_open_ && !pipe_reading_)
    start_reading_pipe();
  if (!to_tcp && to_pipe_ <= max_queued_bytes / 2 && handshaken_ && !tcp_reading_)
    start_reading_tcp();
}

void tls_link::end(const std::string& why, bool fault, bool tcp_usable) {
  if (ended_)
    return;
  ended_ = true;
  if (events_.ended) {
    auto ended = std::move(events_.ended);
    events_ = {};
    ended(fault ? why : std::string{}, connected_);
  }
  if (pipe_open_) {
    pipe_reading_ = false;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&pipe_)))
      uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), [](uv_handle_t* h) {
        static_cast<tls_link*>(h->data)->handle_closed();
      });
  }
  if (!tcp_usable || !connected_ || closing_) {
    close_handles();
    return;
  }
  // Say goodbye (close_notify, or the alert of a failed handshake), then
  // close once it is written; the linger timer bounds the wait.
  if (handshaken_ && !fault) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
  }
  flush_tls();
  shutdown_req_.data = this;
  auto rv = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_),
                        [](uv_shutdown_t* req, int status) {
                          auto* self = static_cast<tls_link*>(req->data);
                          if (status != 0 || !self->tcp_reading_)
                            self->close_handles();
                        });
  if (rv != 0) {
    close_handles();
    return;
  }
  if (fault && !tcp_reading_)
    start_reading_tcp();
  else if (!fault && tcp_reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    tcp_reading_ = false;
  }
  uv_timer_start(
    &linger_, [](uv_timer_t* t) { static_cast<tls_link*>(t->data)->close_handles(); }, linger_ms,
    0);
}

void tls_link::close_handles() {
  if (closing_)
    return;
  closing_ = true;
  ended_ = true;
  auto close = [](auto* handle) {
    auto* h = reinterpret_cast<uv_handle_t*>(handle);
    if (!uv_is_closing(h))
      uv_close(h, [](uv_handle_t* closed) { static_cast<tls_link*>(closed->data)->handle_closed(); });
  };
  uv_timer_stop(&linger_);
  close(&linger_);
  if (tcp_open_)
    close(&tcp_);
  if (pipe_open_)
    close(&pipe_);
}

void tls_link::handle_closed() {
  if (--open_handles_ > 0)
    return;
  // The last handle is closed: nothing of libuv refers to the link any
  // more. `gone` may destroy it, so it is called from a copy.
  auto gone = std::move(gone_);
  if (gone)
    gone(this);
}

std::string tls_link::describe_failure(int ssl_error, bool handshaking) {
  int reason = 0;
  auto errors = openssl_errors(&reason);
  auto verify = SSL_get_verify_result(ssl_.get());
  if (handshaking && verify != X509_V_OK) {
    std::string text = X509_verify_cert_error_string(verify);
    switch (verify) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "its certificate is not signed by the cluster CA (" + text + ")";
    default:
      return "its certificate was not accepted (" + text + ")";
    }
  }
  switch (reason) {
  case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
  case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
  case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
  case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    return "it refused this node's certificate (" + errors + ")";
  case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    return "it presented no certificate";
  default:
    break;
  }
  if (errors.empty())
    errors = "OpenSSL error " + std::to_string(ssl_error);
  return std::string{handshaking ? "the TLS handshake failed (" : "the TLS session failed ("}
         + errors + ")";
}

} // namespace troupe::cluster
