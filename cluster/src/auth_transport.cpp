#include "auth_transport.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <type_traits>

#include <openssl/evp.h>

#include "secret.hpp"

namespace troupe::cluster {

namespace {

constexpr std::size_t nonce_size = 16;
constexpr std::size_t proof_size = 32;
constexpr std::size_t digest_size = 32;
constexpr std::size_t challenge_size = 4 + nonce_size;                           // TRA1 + S
constexpr std::size_t response_size = 4 + digest_size + nonce_size + proof_size;  // TRC1 ...
constexpr std::size_t verdict_size = 1 + proof_size;
constexpr std::uint64_t handshake_timeout_ms = 5'000;
// Raft's preamble: protocol version, server id, the address's length (with
// its NUL, padded to 8), each 8 bytes little endian; then the address.
constexpr std::uint64_t preamble_version = 1;
constexpr std::size_t preamble_size = 24;
constexpr std::uint64_t max_address_size = 1024;
// Connections in their handshake at a time, with TLS; beyond, new ones are
// closed at once (a cluster has a handful of members, each with two links).
constexpr std::size_t max_handshakes = 128;

enum verdict_code : unsigned char { accepted = 0, other_cluster = 1, wrong_secret = 2 };

std::string sha256(std::string_view text) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), out, &length, EVP_sha256(), nullptr);
  return std::string{reinterpret_cast<const char*>(out), length};
}

void free_stream(uv_handle_t* handle) {
  raft_free(handle);
}

void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>(v >> (8 * i));
}

std::uint64_t get64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

std::string encode_preamble(raft_id id, const std::string& address) {
  auto padded = (address.size() + 1 + 7) / 8 * 8;
  std::string out;
  put64(out, preamble_version);
  put64(out, id);
  put64(out, padded);
  out += address;
  out.append(padded - address.size(), '\0');
  return out;
}

/// "a.b.c.d:port" as raft_uv_tcp reads it (IPv4; no port: 8080).
bool parse_ipv4(const std::string& address, sockaddr_in& out) {
  auto colon = address.find(':');
  auto host = address.substr(0, colon);
  int port = 8080;
  if (colon != std::string::npos)
    port = std::atoi(address.c_str() + colon + 1);
  return uv_ip4_addr(host.c_str(), port, &out) == 0;
}

template <class... Args>
void set_errmsg(raft_uv_transport* t, const char* format, Args... args) {
  std::snprintf(t->errmsg, sizeof t->errmsg, format, args...);
}

} // namespace

struct auth_transport::handshake {
  auth_transport* owner = nullptr;
  bool acceptor = false;
  uv_stream_t* stream = nullptr;
  uv_timer_t timer{};
  bool timer_started = false;
  raft_id peer_id = 0;
  std::string address;
  raft_uv_connect* user_req = nullptr;  // connector: raft's request
  raft_uv_connect_cb user_cb = nullptr;
  raft_uv_connect inner_req{};
  std::string server_nonce;
  std::string client_nonce;
  std::string out;
  uv_write_t write{};
  bool writing = false;
  void (handshake::*after_write)() = nullptr;  // see send()
  std::string in;
  std::size_t got = 0;
  unsigned char verdict = accepted;  // acceptor: what it answered
  bool done = false;       // finished one way or the other
  bool timer_closed = false;
  std::list<std::unique_ptr<handshake>>::iterator self;  // in owner->handshakes_
  // With TLS: the link, until the handshake ends; and what is read next.
  tls_link* link = nullptr;
  enum class phase { tls, preamble, address, auth } stage = phase::auth;

  // -- the exchange ------------------------------------------------------------

  void start_timer() {
    if (timer_started)
      return;
    uv_timer_init(owner->loop_, &timer);
    timer.data = this;
    timer_started = true;
    uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        auto* h = static_cast<handshake*>(t->data);
        h->fail("no answer within 5 s", RAFT_NOCONNECTION, h->owner->tls_ != nullptr);
      },
      handshake_timeout_ms, 0);
  }

  void read(std::size_t n) {
    in.assign(n, '\0');
    got = 0;
    stream->data = this;
    uv_read_start(
      stream,
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* h = static_cast<handshake*>(handle->data);
        buf->base = h->in.data() + h->got;
        buf->len = h->in.size() - h->got;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        auto* h = static_cast<handshake*>(s->data);
        if (nread == 0)
          return;
        if (nread < 0) {
          h->fail("the connection closed during the handshake", RAFT_NOCONNECTION);
          return;
        }
        h->got += static_cast<std::size_t>(nread);
        if (h->got < h->in.size())
          return;
        uv_read_stop(s);
        h->received();
      });
  }

  /// Writes `bytes`; once they are written, `then` runs, unless the
  /// handshake ended meanwhile or the write failed.
  void send(std::string bytes, void (handshake::*then)()) {
    out = std::move(bytes);
    after_write = then;
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write.data = this;
    writing = true;
    if (uv_write(&write, stream, &buf, 1, &handshake::written) != 0) {
      writing = false;
      fail("the handshake could not be written", RAFT_NOCONNECTION);
    }
  }

  static void written(uv_write_t* w, int status) {
    auto* h = static_cast<handshake*>(w->data);
    h->writing = false;
    if (h->done) {
      h->owner->finished(h);
      return;
    }
    if (status != 0) {
      h->fail("the handshake could not be written", RAFT_NOCONNECTION);
      return;
    }
    (h->*(h->after_write))();
  }

  void await_response() {
    read(response_size);
  }

  void await_verdict() {
    read(verdict_size);
  }

  /// Acceptor: the verdict is written; the link is raft's, or refused.
  void verdict_sent() {
    if (verdict != accepted) {
      fail({}, RAFT_NOCONNECTION);
      return;
    }
    succeed();
  }

  /// Acceptor: the connection came in; challenge it.
  void begin_accept() {
    start_timer();
    server_nonce = random_bytes(nonce_size);
    send("TRA1" + server_nonce, &handshake::await_response);
  }

  /// Connector: connected; wait for the challenge.
  void begin_connect() {
    start_timer();
    read(challenge_size);
  }

  // -- with TLS: the link is verified, the preamble comes inside it ----------------

  void tls_ready(uv_stream_t* plain) {
    stream = plain;
    if (acceptor) {
      stage = phase::preamble;
      read(preamble_size);
      return;
    }
    stage = phase::auth;
    send(encode_preamble(owner->self_id_, owner->self_address_), &handshake::begin_connect);
  }

  /// The link ended by itself: a TLS failure (`why`), the peer gone, or (not
  /// `connected`) no connection made, which raft retries quietly as it does
  /// without TLS.
  void tls_ended(const std::string& why, bool connected) {
    link = nullptr;
    if (!connected) {
      fail({}, RAFT_NOCONNECTION);
      return;
    }
    if (acceptor) {
      if (!why.empty())
        owner->refused_("refused a consensus link from " + address + ": " + why);
      if (!why.empty() || stream == nullptr)
        fail({}, RAFT_NOCONNECTION);
      return;  // else the stream reads EOF
    }
    if (!why.empty() || stream == nullptr)
      fail(why.empty() ? "the connection closed during the TLS handshake" : why,
           RAFT_NOCONNECTION);
  }

  void got_preamble() {
    auto size = get64(std::string_view{in}.substr(16));
    if (get64(in) != preamble_version || size == 0 || size > max_address_size || size % 8 != 0) {
      fail("the peer does not speak the consensus handshake", RAFT_NOCONNECTION, true);
      return;
    }
    peer_id = get64(std::string_view{in}.substr(8));
    stage = phase::address;
    read(static_cast<std::size_t>(size));
  }

  void got_address() {
    auto end = in.find('\0');
    if (end == 0 || end == std::string::npos) {
      fail("the peer does not speak the consensus handshake", RAFT_NOCONNECTION, true);
      return;
    }
    address = in.substr(0, end);
    stage = phase::auth;
    begin_accept();
  }

  void received() {
    if (stage == phase::preamble)
      got_preamble();
    else if (stage == phase::address)
      got_address();
    else if (acceptor)
      check_response();
    else if (server_nonce.empty())
      answer_challenge();
    else
      check_verdict();
  }

  void answer_challenge() {
    if (in.compare(0, 4, "TRA1") != 0) {
      fail("the peer does not speak the consensus handshake", RAFT_NOCONNECTION);
      return;
    }
    server_nonce = in.substr(4);
    client_nonce = random_bytes(nonce_size);
    auto proof = prove(owner->secret_, {"raft-connect", owner->cluster_, server_nonce,
                                        client_nonce});
    send("TRC1" + sha256(owner->cluster_) + client_nonce + proof, &handshake::await_verdict);
  }

  void check_response() {
    unsigned char code = accepted;
    std::string reason;
    if (in.compare(0, 4, "TRC1") != 0) {
      fail("the peer does not speak the consensus handshake", RAFT_NOCONNECTION);
      return;
    }
    auto digest = in.substr(4, digest_size);
    client_nonce = in.substr(4 + digest_size, nonce_size);
    auto proof = in.substr(4 + digest_size + nonce_size, proof_size);
    if (!same_proof(digest, sha256(owner->cluster_))) {
      code = other_cluster;
      reason = "it belongs to another cluster than " + owner->cluster_;
    } else if (!same_proof(proof, prove(owner->secret_, {"raft-connect", owner->cluster_,
                                                         server_nonce, client_nonce}))) {
      code = wrong_secret;
      reason = "it does not know the cluster secret";
    }
    auto answer = std::string(1, static_cast<char>(code))
                  + prove(owner->secret_, {"raft-accept", owner->cluster_, client_nonce,
                                           server_nonce});
    if (code != accepted)
      owner->refused_("refused a consensus link from " + address + ": " + reason);
    verdict = code;
    send(answer, &handshake::verdict_sent);
  }

  void check_verdict() {
    auto code = static_cast<unsigned char>(in[0]);
    auto proof = in.substr(1);
    if (code == other_cluster) {
      fail("the peer belongs to another cluster than " + owner->cluster_, RAFT_NOCONNECTION,
           true);
      return;
    }
    if (code == wrong_secret) {
      fail("the peer refused this node's cluster secret", RAFT_NOCONNECTION, true);
      return;
    }
    if (!same_proof(proof, prove(owner->secret_, {"raft-accept", owner->cluster_, client_nonce,
                                                  server_nonce}))) {
      fail("the peer does not know the cluster secret", RAFT_NOCONNECTION, true);
      return;
    }
    succeed();
  }

  // -- endings -----------------------------------------------------------------

  void succeed() {
    done = true;
    if (link != nullptr) {
      link->unwatch();  // it relays for raft now
      link = nullptr;
    }
    auto* s = stream;
    stream = nullptr;
    s->data = nullptr;
    if (acceptor) {
      if (owner->accept_cb_ != nullptr && !owner->closing_)
        owner->accept_cb_(&owner->outer_.transport, peer_id, address.c_str(), s);
      else
        uv_close(reinterpret_cast<uv_handle_t*>(s), free_stream);
    } else {
      user_cb(user_req, s, 0);
    }
    close_timer();
  }

  /// Ends the handshake without handing the stream to raft. `why` empty:
  /// already logged.
  void fail(const std::string& why, int status, bool log = false) {
    if (done)
      return;
    done = true;
    if (!why.empty() && (log || !acceptor))
      owner->refused_((acceptor ? "dropped a consensus link from " : "the consensus link to ")
                      + address + (acceptor ? ": " : " failed: ") + why);
    if (link != nullptr) {
      // Once it relays, closing the stream ends it after it has passed on
      // what was written (a refusal's verdict); before, nothing is owed.
      auto* l = link;
      link = nullptr;
      l->unwatch();
      if (stream == nullptr)
        l->abort();
    }
    if (stream != nullptr) {
      uv_read_stop(stream);
      uv_close(reinterpret_cast<uv_handle_t*>(stream), free_stream);
      stream = nullptr;
    }
    if (!acceptor)
      user_cb(user_req, nullptr, status);
    close_timer();
  }

  void close_timer() {
    if (!timer_started) {
      timer_closed = true;
      owner->finished(this);
      return;
    }
    uv_timer_stop(&timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* t) {
      auto* h = static_cast<handshake*>(t->data);
      h->timer_closed = true;
      h->owner->finished(h);
    });
  }
};

auth_transport::auth_transport(uv_loop_t* loop, std::string cluster_name, std::string secret,
                               std::function<void(const std::string&)> refused,
                               const tls_context* tls)
  : loop_(loop),
    cluster_(std::move(cluster_name)),
    secret_(std::move(secret)),
    refused_(std::move(refused)),
    tls_(tls) {
  static_assert(std::is_standard_layout_v<holder>);
  outer_.owner = this;
  outer_.transport.init = do_init;
  outer_.transport.listen = do_listen;
  outer_.transport.connect = do_connect;
  outer_.transport.close = do_close;
}

auth_transport::~auth_transport() {
  if (inner_ready_)
    raft_uv_tcp_close(&inner_);
}

int auth_transport::init(const std::string& bind_address) {
  if (tls_ != nullptr) {
    bind_address_ = bind_address;
    return 0;
  }
  auto rv = raft_uv_tcp_init(&inner_, loop_);
  if (rv != 0)
    return rv;
  inner_ready_ = true;
  inner_.data = this;
  if (!bind_address.empty())
    rv = raft_uv_tcp_set_bind_address(&inner_, bind_address.c_str());
  return rv;
}

int auth_transport::do_init(raft_uv_transport* t, raft_id id, const char* address) {
  auto* self = owner_of(t);
  if (self->tls_ != nullptr)
    return self->tls_init(id, address);
  auto rv = self->inner_.init(&self->inner_, id, address);
  if (rv != 0)
    std::memcpy(t->errmsg, self->inner_.errmsg, sizeof t->errmsg);
  return rv;
}

int auth_transport::do_listen(raft_uv_transport* t, raft_uv_accept_cb cb) {
  auto* self = owner_of(t);
  self->accept_cb_ = cb;
  if (self->tls_ != nullptr)
    return self->tls_listen();
  auto rv = self->inner_.listen(&self->inner_, inner_accepted);
  if (rv != 0)
    std::memcpy(t->errmsg, self->inner_.errmsg, sizeof t->errmsg);
  return rv;
}

int auth_transport::do_connect(raft_uv_transport* t, raft_uv_connect* req, raft_id id,
                               const char* address, raft_uv_connect_cb cb) {
  auto* self = owner_of(t);
  if (id == 0) {
    // Raft's answer to a leader this node forgot (raft_host's
    // forget_leader): no server has id 0, and the leader is gone. Raft
    // retries the connection now and then, cheaply, until it closes.
    set_errmsg(t, "no server has id 0: %s", address);
    return RAFT_NOCONNECTION;
  }
  if (self->tls_ != nullptr)
    return self->tls_connect(req, id, address, cb);
  auto* h = self->add_handshake();
  h->peer_id = id;
  h->address = address;
  h->user_req = req;
  h->user_cb = cb;
  h->inner_req.data = h;
  auto rv = self->inner_.connect(&self->inner_, &h->inner_req, id, address, inner_connected);
  if (rv != 0) {
    self->handshakes_.erase(h->self);
    return rv;
  }
  return 0;
}

void auth_transport::inner_connected(raft_uv_connect* req, uv_stream_t* stream, int status) {
  auto* h = static_cast<handshake*>(req->data);
  if (status != 0 || h->owner->closing_) {
    if (stream != nullptr)
      uv_close(reinterpret_cast<uv_handle_t*>(stream), free_stream);
    h->done = true;
    h->user_cb(h->user_req, nullptr, status != 0 ? status : RAFT_CANCELED);
    h->timer_closed = true;
    h->owner->finished(h);
    return;
  }
  h->stream = stream;
  h->begin_connect();
}

void auth_transport::inner_accepted(raft_uv_transport* inner, raft_id id, const char* address,
                                    uv_stream_t* stream) {
  auto* self = static_cast<auth_transport*>(inner->data);
  if (self->closing_) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), free_stream);
    return;
  }
  auto* h = self->add_handshake();
  h->acceptor = true;
  h->peer_id = id;
  h->address = address;
  h->stream = stream;
  h->begin_accept();
}

auth_transport::handshake* auth_transport::add_handshake() {
  auto& h = handshakes_.emplace_back(std::make_unique<handshake>());
  h->owner = this;
  h->self = std::prev(handshakes_.end());
  return h.get();
}

// -- with TLS -----------------------------------------------------------------------

int auth_transport::tls_init(raft_id id, const char* address) {
  self_id_ = id;
  self_address_ = address;
  if (auto rv = uv_tcp_init(loop_, &listener_); rv != 0) {
    set_errmsg(&outer_.transport, "uv_tcp_init(): %s", uv_strerror(rv));
    return RAFT_IOERR;
  }
  listener_.data = this;
  listener_open_ = true;
  return 0;
}

int auth_transport::tls_listen() {
  const auto& where = bind_address_.empty() ? self_address_ : bind_address_;
  sockaddr_in addr{};
  if (!parse_ipv4(where, addr)) {
    set_errmsg(&outer_.transport, "not an IPv4 address and port: %s", where.c_str());
    return RAFT_IOERR;
  }
  auto rv = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rv == 0)
    rv = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, tls_incoming);
  if (rv != 0) {
    set_errmsg(&outer_.transport, "listening on %s: %s", where.c_str(), uv_strerror(rv));
    return RAFT_IOERR;
  }
  return 0;
}

tls_link* auth_transport::new_link(handshake* h) {
  tls_link::events e;
  e.ready = [h](uv_stream_t* plain) { h->tls_ready(plain); };
  e.ended = [h](const std::string& why, bool connected) { h->tls_ended(why, connected); };
  std::unique_ptr<tls_link> link;
  try {
    link = std::make_unique<tls_link>(loop_, *tls_, std::move(e),
                                      [this](tls_link* l) { links_.erase(l); });
  } catch (const std::exception& ex) {
    refused_(std::string{"no consensus link: "} + ex.what());
    return nullptr;
  }
  auto* raw = link.get();
  links_.emplace(raw, std::move(link));
  h->link = raw;
  h->stage = handshake::phase::tls;
  return raw;
}

void auth_transport::tls_incoming(uv_stream_t* listener, int status) {
  auto* self = static_cast<auth_transport*>(listener->data);
  if (status != 0 || self->closing_)
    return;
  if (self->handshakes_.size() >= max_handshakes) {
    auto* tcp = static_cast<uv_tcp_t*>(raft_malloc(sizeof(uv_tcp_t)));
    if (tcp == nullptr)
      return;
    uv_tcp_init(self->loop_, tcp);
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(tcp)) == 0)
      self->refused_("refused a consensus link: " + std::to_string(max_handshakes)
                     + " handshakes are in progress already");
    uv_close(reinterpret_cast<uv_handle_t*>(tcp), free_stream);
    return;
  }
  auto* h = self->add_handshake();
  h->acceptor = true;
  auto* link = self->new_link(h);
  if (link == nullptr) {
    self->handshakes_.erase(h->self);
    return;
  }
  if (link->accept(listener) != 0) {
    h->link = nullptr;
    link->unwatch();
    link->abort();
    self->handshakes_.erase(h->self);
    return;
  }
  h->address = link->peer();  // until its preamble names its raft address
  h->start_timer();
}

int auth_transport::tls_connect(raft_uv_connect* req, raft_id id, const char* address,
                                raft_uv_connect_cb cb) {
  sockaddr_in addr{};
  if (!parse_ipv4(address, addr)) {
    set_errmsg(&outer_.transport, "not an IPv4 address and port: %s", address);
    return RAFT_NOCONNECTION;
  }
  auto* h = add_handshake();
  h->peer_id = id;
  h->address = address;
  h->user_req = req;
  h->user_cb = cb;
  req->cb = cb;
  auto* link = new_link(h);
  if (link == nullptr) {
    handshakes_.erase(h->self);
    return RAFT_NOMEM;
  }
  if (auto rv = link->connect(reinterpret_cast<const sockaddr*>(&addr)); rv != 0) {
    h->link = nullptr;
    link->unwatch();
    link->abort();
    handshakes_.erase(h->self);
    set_errmsg(&outer_.transport, "uv_tcp_connect(): %s", uv_strerror(rv));
    return RAFT_NOCONNECTION;
  }
  h->start_timer();
  return 0;
}

void auth_transport::tls_close() {
  // fail() may free its handshake (one without a timer): step on first.
  for (auto it = handshakes_.begin(); it != handshakes_.end();)
    (it++)->get()->fail({}, RAFT_CANCELED);
  // Raft has closed its streams already. A link that is not reading its
  // stream (its peer is not taking the bytes) would not notice: end them all
  // now, so that closing does not wait on a peer.
  for (auto& [link, owned] : links_)
    link->abort();
  if (!listener_open_) {
    inner_closed_ = true;
    maybe_closed();
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* l) {
    auto* self = static_cast<auth_transport*>(l->data);
    self->inner_closed_ = true;
    self->maybe_closed();
  });
}

void auth_transport::finished(handshake* h) {
  // Freed once nothing refers to it: its timer is closed and no write of it
  // is pending.
  if (!h->done || !h->timer_closed || h->writing)
    return;
  handshakes_.erase(h->self);
  maybe_closed();
}

void auth_transport::do_close(raft_uv_transport* t, raft_uv_transport_close_cb cb) {
  auto* self = owner_of(t);
  self->closing_ = true;
  self->close_cb_ = cb;
  if (self->tls_ != nullptr) {
    self->tls_close();
    return;
  }
  // Handshakes with a stream end now; those still connecting end when the
  // inner transport cancels their connect.
  for (auto it = self->handshakes_.begin(); it != self->handshakes_.end();) {
    auto* h = (it++)->get();  // fail() may free it
    if (h->stream != nullptr)
      h->fail({}, RAFT_CANCELED);
  }
  self->inner_.close(&self->inner_, inner_closed);
}

void auth_transport::inner_closed(raft_uv_transport* inner) {
  auto* self = static_cast<auth_transport*>(inner->data);
  self->inner_closed_ = true;
  self->maybe_closed();
}

void auth_transport::maybe_closed() {
  if (closing_ && inner_closed_ && handshakes_.empty() && close_cb_ != nullptr) {
    auto cb = close_cb_;
    close_cb_ = nullptr;
    cb(&outer_.transport);
  }
}

} // namespace troupe::cluster
