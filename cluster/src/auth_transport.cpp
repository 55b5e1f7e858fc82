#include "auth_transport.hpp"

#include <cstring>
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
  std::string in;
  std::size_t got = 0;
  unsigned char verdict = accepted;  // acceptor: what it answered
  bool done = false;       // finished one way or the other
  bool timer_closed = false;
  handshake* prev = nullptr;
  handshake* next = nullptr;

  // -- the exchange ------------------------------------------------------------

  void start_timer() {
    uv_timer_init(owner->loop_, &timer);
    timer.data = this;
    timer_started = true;
    uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        auto* h = static_cast<handshake*>(t->data);
        h->fail("no answer within 5 s", RAFT_NOCONNECTION);
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

  void send(std::string bytes, uv_write_cb cb) {
    out = std::move(bytes);
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write.data = this;
    writing = true;
    if (uv_write(&write, stream, &buf, 1, cb) != 0) {
      writing = false;
      fail("the handshake could not be written", RAFT_NOCONNECTION);
    }
  }

  /// Acceptor: the connection came in; challenge it.
  void begin_accept() {
    start_timer();
    server_nonce = random_bytes(nonce_size);
    send("TRA1" + server_nonce, [](uv_write_t* w, int status) {
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
      h->read(response_size);
    });
  }

  /// Connector: connected; wait for the challenge.
  void begin_connect() {
    start_timer();
    read(challenge_size);
  }

  void received() {
    if (acceptor)
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
    send("TRC1" + sha256(owner->cluster_) + client_nonce + proof, [](uv_write_t* w, int status) {
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
      h->read(verdict_size);
    });
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
    send(answer, [](uv_write_t* w, int status) {
      auto* h = static_cast<handshake*>(w->data);
      h->writing = false;
      if (h->done) {
        h->owner->finished(h);
        return;
      }
      if (status != 0 || h->verdict != accepted) {
        h->fail(status != 0 ? "the handshake could not be written" : std::string{},
                RAFT_NOCONNECTION);
        return;
      }
      h->succeed();
    });
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
                               std::function<void(const std::string&)> refused)
  : loop_(loop),
    cluster_(std::move(cluster_name)),
    secret_(std::move(secret)),
    refused_(std::move(refused)) {
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
  auto rv = self->inner_.init(&self->inner_, id, address);
  if (rv != 0)
    std::memcpy(t->errmsg, self->inner_.errmsg, sizeof t->errmsg);
  return rv;
}

int auth_transport::do_listen(raft_uv_transport* t, raft_uv_accept_cb cb) {
  auto* self = owner_of(t);
  self->accept_cb_ = cb;
  auto rv = self->inner_.listen(&self->inner_, inner_accepted);
  if (rv != 0)
    std::memcpy(t->errmsg, self->inner_.errmsg, sizeof t->errmsg);
  return rv;
}

int auth_transport::do_connect(raft_uv_transport* t, raft_uv_connect* req, raft_id id,
                               const char* address, raft_uv_connect_cb cb) {
  auto* self = owner_of(t);
  auto* h = new handshake;
  h->owner = self;
  h->peer_id = id;
  h->address = address;
  h->user_req = req;
  h->user_cb = cb;
  h->inner_req.data = h;
  auto rv = self->inner_.connect(&self->inner_, &h->inner_req, id, address, inner_connected);
  if (rv != 0) {
    delete h;
    return rv;
  }
  h->next = self->handshakes_;
  if (h->next != nullptr)
    h->next->prev = h;
  self->handshakes_ = h;
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
  auto* h = new handshake;
  h->owner = self;
  h->acceptor = true;
  h->peer_id = id;
  h->address = address;
  h->stream = stream;
  h->next = self->handshakes_;
  if (h->next != nullptr)
    h->next->prev = h;
  self->handshakes_ = h;
  h->begin_accept();
}

void auth_transport::finished(handshake* h) {
  // Freed once nothing refers to it: its timer is closed and no write of it
  // is pending.
  if (!h->done || !h->timer_closed || h->writing)
    return;
  if (h->prev != nullptr)
    h->prev->next = h->next;
  else
    handshakes_ = h->next;
  if (h->next != nullptr)
    h->next->prev = h->prev;
  delete h;
  maybe_closed();
}

void auth_transport::do_close(raft_uv_transport* t, raft_uv_transport_close_cb cb) {
  auto* self = owner_of(t);
  self->closing_ = true;
  self->close_cb_ = cb;
  // Handshakes with a stream end now; those still connecting end when the
  // inner transport cancels their connect.
  for (auto* h = self->handshakes_; h != nullptr;) {
    auto* next = h->next;
    if (h->stream != nullptr)
      h->fail({}, RAFT_CANCELED);
    h = next;
  }
  self->inner_.close(&self->inner_, inner_closed);
}

void auth_transport::inner_closed(raft_uv_transport* inner) {
  auto* self = static_cast<auth_transport*>(inner->data);
  self->inner_closed_ = true;
  self->maybe_closed();
}

void auth_transport::maybe_closed() {
  if (closing_ && inner_closed_ && handshakes_ == nullptr && close_cb_ != nullptr) {
    auto cb = close_cb_;
    close_cb_ = nullptr;
    cb(&outer_.transport);
  }
}

} // namespace troupe::cluster
