#include "raft_host.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>

#include "raft_c.hpp"

#include "auth_transport.hpp"
#include "membership.hpp"

namespace troupe::cluster {

namespace {

/// A request handed to libraft: owned by a unique_ptr until libraft accepts
/// it (released then), libraft's until its callback, which takes it back
/// from the C struct's `data` with this.
template <class Request>
std::unique_ptr<Request> taken_back(void* data) {
  return std::unique_ptr<Request>{static_cast<Request*>(data)};
}

status raft_error(int rv, const char* what) {
  return status{status_code::unavailable, std::string{what} + ": " + raft_strerror(rv)};
}

// A log entry: the command's length (8 bytes, little endian), the command,
// zeros up to a multiple of 8. libraft's network encoding pads every entry to
// 8 bytes when it decodes a batch but sends each as it was given, so an entry
// of another length shifts every entry after it.
raft_buffer encode_entry(const std::string& bytes) {
  raft_buffer buf;
  auto padded = (8 + bytes.size() + 7) / 8 * 8;
  buf.len = padded;
  buf.base = raft_calloc(1, padded);
  auto length = static_cast<std::uint64_t>(bytes.size());
  for (int i = 0; i < 8; ++i)
    static_cast<unsigned char*>(buf.base)[i] = static_cast<unsigned char>(length >> (8 * i));
  std::memcpy(static_cast<char*>(buf.base) + 8, bytes.data(), bytes.size());
  return buf;
}

bool decode_entry(const raft_buffer& buf, v1::Command& command) {
  if (buf.len < 8)
    return false;
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= std::uint64_t{static_cast<const unsigned char*>(buf.base)[i]} << (8 * i);
  if (length > buf.len - 8)
    return false;
  return command.ParseFromArray(static_cast<const char*>(buf.base) + 8, static_cast<int>(length));
}

} // namespace

struct raft_host::impl {
  settings s;
  callbacks cb;
  uv_loop_t loop{};
  uv_async_t wake{};
  uv_timer_t poll{};
  std::unique_ptr<tls_context> tls;  // outlives the transport
  std::unique_ptr<auth_transport> transport;
  raft_io io{};
  raft_fsm fsm{};
  struct raft r {};
  bool raft_up = false;
  bool closing = false;
  // While this follower of a lost leader stands for election sooner.
  std::uint64_t hastened_for = 0;
  std::uint64_t hastened_at_ms = 0;  // uv_now
  v1::Membership state;
  leadership last;
  std::mutex mtx;
  std::vector<std::function<void()>> jobs;
  bool accepting = true;
  std::thread thread;
  struct raft_transfer transfer {};

  // -- the state machine --------------------------------------------------------

  static int fsm_apply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
    auto* self = static_cast<impl*>(fsm->data);
    *result = nullptr;
    v1::Command command;
    if (!decode_entry(*buf, command))
      return 0;  // never written by this program: skipped, as everywhere
    std::string note;
    if (apply_command(self->state, command, note) && self->cb.applied)
      self->cb.applied(std::make_shared<const v1::Membership>(self->state), std::move(note));
    return 0;
  }

  static int fsm_snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs) {
    auto* self = static_cast<impl*>(fsm->data);
    *bufs = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
    if (*bufs == nullptr)
      return RAFT_NOMEM;
    (*bufs)[0] = encode_entry(self->state.SerializeAsString());
    *n_bufs = 1;
    return 0;
  }

  static int fsm_restore(raft_fsm* fsm, raft_buffer* buf) {
    auto* self = static_cast<impl*>(fsm->data);
    v1::Membership restored;
    std::uint64_t length = 0;
    for (int i = 0; i < 8 && buf->len >= 8; ++i)
      length |= std::uint64_t{static_cast<const unsigned char*>(buf->base)[i]} << (8 * i);
    if (buf->len < 8 || length > buf->len - 8
        || !restored.ParseFromArray(static_cast<const char*>(buf->base) + 8,
                                    static_cast<int>(length)))
      return RAFT_MALFORMED;
    raft_free(buf->base);
    self->state = std::move(restored);
    if (self->cb.applied)
      self->cb.applied(std::make_shared<const v1::Membership>(self->state),
                       "membership restored from a snapshot");
    return 0;
  }

  // -- the loop -----------------------------------------------------------------

  void run(std::promise<void>& started) {
    try {
      open();
    } catch (...) {
      started.set_exception(std::current_exception());
      // What opened is closed by the loop: run it until nothing is left.
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_loop_close(&loop);
      return;
    }
    started.set_value();
    uv_run(&loop, UV_RUN_DEFAULT);
    transport.reset();
    uv_loop_close(&loop);
  }

  void open() {
    uv_loop_init(&loop);
    uv_async_init(&loop, &wake, [](uv_async_t* a) { static_cast<impl*>(a->data)->run_jobs(); });
    wake.data = this;
    uv_timer_init(&loop, &poll);
    poll.data = this;
    std::error_code ec;
    std::filesystem::create_directories(s.dir, ec);
    if (ec)
      fail_open("the consensus log's directory " + s.dir + ": " + ec.message());
    if (!s.tls_cert.empty()) {
      try {
        tls = std::make_unique<tls_context>(s.tls_cert, s.tls_key, s.tls_ca);
      } catch (const std::exception& e) {
        fail_open(std::string{"the consensus transport's TLS: "} + e.what());
      }
    }
    transport =
      std::make_unique<auth_transport>(&loop, s.cluster_name, s.secret, cb.warn, tls.get());
    if (auto rv = transport->init(s.bind_address); rv != 0)
      fail_open(std::string{"the consensus transport: "} + raft_strerror(rv));
    if (auto rv = raft_uv_init(&io, &loop, s.dir.c_str(), transport->transport()); rv != 0)
      fail_open("the consensus log in " + s.dir + ": " + io.errmsg);
    fsm.version = 1;
    fsm.data = this;
    fsm.apply = fsm_apply;
    fsm.snapshot = fsm_snapshot;
    fsm.restore = fsm_restore;
    if (auto rv = raft_init(&r, &io, &fsm, s.id, s.address.c_str()); rv != 0) {
      raft_uv_close(&io);
      fail_open(std::string{"raft: "} + raft_errmsg(&r));
    }
    r.data = this;
    raft_set_election_timeout(&r, s.election_timeout_ms);
    raft_set_heartbeat_timeout(&r, s.heartbeat_ms);
    raft_set_pre_vote(&r, true);
    raft_set_snapshot_threshold(&r, 256);
    raft_set_snapshot_trailing(&r, 64);
    if (s.bootstrap) {
      raft_configuration conf;
      raft_configuration_init(&conf);
      raft_configuration_add(&conf, s.id, s.address.c_str(), RAFT_VOTER);
      auto rv = raft_bootstrap(&r, &conf);
      raft_configuration_close(&conf);
      if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
        close_and_fail("bootstrapping the consensus log: " + raft_why(rv));
    }
    if (auto rv = raft_start(&r); rv != 0)
      close_and_fail("starting raft on " + s.address + ": " + raft_why(rv));
    raft_up = true;
    uv_timer_start(
      &poll, [](uv_timer_t* t) { static_cast<impl*>(t->data)->poll_leadership(); }, 20, 20);
  }

  /// raft's message for its last failure, else the text of `rv`.
  std::string raft_why(int rv) {
    std::string why = raft_errmsg(&r);
    return why.empty() ? raft_strerror(rv) : why;
  }

  [[noreturn]] void fail_open(const std::string& why) {
    close_handles();
    throw std::runtime_error(why);
  }

  [[noreturn]] void close_and_fail(const std::string& why) {
    closing = true;
    raft_close(&r, [](struct raft* raft) {
      auto* self = static_cast<impl*>(raft->data);
      raft_uv_close(&self->io);
      self->close_handles();
    });
    throw std::runtime_error(why);
  }

  void close_handles() {
    auto close = [](auto* handle) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(handle)))
        uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
    };
    close(&wake);
    close(&poll);
  }

  void hasten_election(std::uint64_t lost, bool forget) {
    if (!raft_up || closing || raft_state(&r) != RAFT_FOLLOWER
        || r.follower_state.current_leader.id != lost)
      return;
    // Hastened already (it fell silent): only a later "gone" adds anything.
    if (hastened_for != 0) {
      if (forget)
        forget_leader();
      return;
    }
    hastened_for = lost;
    hastened_at_ms = uv_now(&loop);
    auto t = hastened_timeout_ms();
    raft_set_election_timeout(&r, t);
    // libraft 0.15 only stores the new timeout (its header says it also
    // redraws the running timer; the code does not), and a follower redraws
    // only on a message from its leader, which will not come: redraw here,
    // in [t, 2t] as raft itself does.
    r.follower_state.randomized_election_timeout =
      static_cast<unsigned>(r.io->random(r.io, static_cast<int>(t), 2 * static_cast<int>(t)));
    // While a follower names a leader it refuses every (pre-)vote, and one
    // that is no voter in its own configuration never stands itself, so it
    // would name the lost leader for good: a voter whose promotion had not
    // reached it when the leader died, whose vote the others need. Forget
    // a leader that is gone, as raft does when it stops following
    // (convert.c).
    if (forget)
      forget_leader();
  }

  void forget_leader() {
    // The id only: raft refuses (pre-)votes while it is set
    // (recv_request_vote.c). The address stays, because a follower's append
    // still being written answers to current_leader.address once the write
    // completes (replication.c, sendAppendEntriesResult): with it null, that
    // answer crashed the node (strlen in uv_send.c's client lookup). Such an
    // answer now goes to server id 0, which auth_transport refuses to
    // connect to; raft frees the address when the follower changes state
    // (convert.c).
    r.follower_state.current_leader.id = 0;
  }

  unsigned hastened_timeout_ms() const {
    return std::max(30u, s.election_timeout_ms / 10);
  }

  void poll_leadership() {
    leadership now;
    raft_id id = 0;
    const char* address = nullptr;
    raft_leader(&r, &id, &address);
    if (hastened_for != 0
        && ((id != 0 && id != hastened_for)
            || uv_now(&loop) - hastened_at_ms > 2 * std::uint64_t{s.election_timeout_ms})) {
      raft_set_election_timeout(&r, s.election_timeout_ms);
      hastened_for = 0;
    }
    now.leader = id;
    now.term = r.current_term;
    now.self = raft_state(&r) == RAFT_LEADER;
    for (unsigned i = 0; i < r.configuration.n; ++i)
      now.servers.emplace_back(r.configuration.servers[i].id, r.configuration.servers[i].role);
    if (now.leader != last.leader || now.term != last.term || now.self != last.self
        || now.servers != last.servers) {
      last = now;
      if (cb.leadership_changed)
        cb.leadership_changed(std::move(now));
    }
  }

  void run_jobs() {
    std::vector<std::function<void()>> todo;
    {
      std::lock_guard guard{mtx};
      todo.swap(jobs);
    }
    for (auto& job : todo)
      job();
  }

  // -- work posted from other threads -------------------------------------------

  void propose(v1::Command command, done_fn done) {
    if (!raft_up || closing) {
      done(status{status_code::unavailable, "the consensus log is not running"});
      return;
    }
    if (raft_state(&r) != RAFT_LEADER) {
      done(status{status_code::failed_precondition, "this node does not lead the cluster"});
      return;
    }
    auto buf = encode_entry(command.SerializeAsString());
    struct request {
      struct raft_apply req;
      done_fn done;
    };
    auto req = std::make_unique<request>();
    req->done = std::move(done);
    req->req.data = req.get();
    auto rv = raft_apply(&r, &req->req, &buf, 1, [](struct raft_apply* a, int status, void*) {
      auto req = taken_back<request>(a->data);
      req->done(status == 0 ? troupe::status{} : raft_error(status, "the change failed"));
    });
    if (rv != 0) {
      raft_free(buf.base);
      req->done(raft_error(rv, "the change could not be proposed"));
      return;
    }
    req.release();  // libraft's until the callback
  }

  struct change_request {
    raft_change req;
    impl* owner;
    std::uint64_t id;
    int role;
    done_fn done;
  };

  void add_server(std::uint64_t id, const std::string& address, int role, done_fn done) {
    if (!raft_up || closing || raft_state(&r) != RAFT_LEADER) {
      done(status{status_code::failed_precondition, "this node does not lead the cluster"});
      return;
    }
    auto req = std::make_unique<change_request>(raft_change{}, this, id, role, std::move(done));
    req->req.data = req.get();
    auto rv = raft_add(&r, &req->req, id, address.c_str(), [](raft_change* c, int status) {
      auto req = taken_back<change_request>(c->data);
      if (status != 0) {
        req->done(raft_error(status, "adding the node to the consensus failed"));
        return;
      }
      req->owner->assign_role(req->id, req->role, std::move(req->done));
    });
    if (rv != 0) {
      req->done(raft_error(rv, "adding the node to the consensus failed"));
      return;
    }
    req.release();  // libraft's until the callback
  }

  void assign_role(std::uint64_t id, int role, done_fn done) {
    if (!raft_up || closing || raft_state(&r) != RAFT_LEADER) {
      done(status{status_code::failed_precondition, "this node does not lead the cluster"});
      return;
    }
    auto req = std::make_unique<change_request>(raft_change{}, this, id, role, std::move(done));
    req->req.data = req.get();
    auto rv = raft_assign(&r, &req->req, id, role, [](raft_change* c, int status) {
      auto req = taken_back<change_request>(c->data);
      req->done(status == 0 ? troupe::status{}
                            : raft_error(status, "changing the node's consensus role failed"));
    });
    if (rv == RAFT_BADROLE) {
      req->done({});  // it has that role already
      return;
    }
    if (rv != 0) {
      req->done(raft_error(rv, "changing the node's consensus role failed"));
      return;
    }
    req.release();  // libraft's until the callback
  }

  void remove_server(std::uint64_t id, done_fn done) {
    if (!raft_up || closing || raft_state(&r) != RAFT_LEADER) {
      done(status{status_code::failed_precondition, "this node does not lead the cluster"});
      return;
    }
    auto req = std::make_unique<change_request>(raft_change{}, this, id, 0, std::move(done));
    req->req.data = req.get();
    auto rv = raft_remove(&r, &req->req, id, [](raft_change* c, int status) {
      auto req = taken_back<change_request>(c->data);
      req->done(status == 0 ? troupe::status{}
                            : raft_error(status, "removing the node from the consensus failed"));
    });
    if (rv == RAFT_BADID) {
      req->done({});  // not in the configuration
      return;
    }
    if (rv != 0) {
      req->done(raft_error(rv, "removing the node from the consensus failed"));
      return;
    }
    req.release();  // libraft's until the callback
  }

  void close(bool transfer_first) {
    if (closing)
      return;
    closing = true;
    uv_timer_stop(&poll);
    if (!raft_up) {
      close_handles();
      return;
    }
    auto finish = [](struct raft* raft) {
      auto* self = static_cast<impl*>(raft->data);
      raft_uv_close(&self->io);
      self->close_handles();
    };
    if (transfer_first && raft_state(&r) == RAFT_LEADER) {
      transfer.data = this;
      auto rv = raft_transfer(&r, &transfer, 0, [](struct raft_transfer* t) {
        auto* self = static_cast<impl*>(t->data);
        raft_close(&self->r, [](struct raft* raft) {
          auto* self = static_cast<impl*>(raft->data);
          raft_uv_close(&self->io);
          self->close_handles();
        });
      });
      if (rv == 0)
        return;
    }
    raft_close(&r, finish);
  }
};

raft_host::raft_host(settings s, callbacks cb) : impl_(std::make_unique<impl>()) {
  impl_->s = std::move(s);
  impl_->cb = std::move(cb);
}

raft_host::~raft_host() {
  stop();
}

void raft_host::start() {
  std::promise<void> started;
  auto ready = started.get_future();
  impl_->thread = std::thread{[this, &started] { impl_->run(started); }};
  try {
    ready.get();
  } catch (...) {
    impl_->thread.join();
    throw;
  }
}

void raft_host::stop(bool transfer_first) {
  if (!impl_->thread.joinable())
    return;
  {
    std::lock_guard guard{impl_->mtx};
    impl_->accepting = false;
    impl_->jobs.push_back([d = impl_.get(), transfer_first] { d->close(transfer_first); });
  }
  uv_async_send(&impl_->wake);
  impl_->thread.join();
}

void raft_host::post(std::function<void()> job) {
  {
    std::lock_guard guard{impl_->mtx};
    if (!impl_->accepting || !impl_->thread.joinable())
      return;  // stopping: the job's callback is dropped with it
    impl_->jobs.push_back(std::move(job));
  }
  uv_async_send(&impl_->wake);
}

void raft_host::propose(v1::Command command, done_fn done) {
  post([d = impl_.get(), command = std::move(command), done = std::move(done)]() mutable {
    d->propose(std::move(command), std::move(done));
  });
}

void raft_host::hasten_election(std::uint64_t lost, bool gone) {
  post([d = impl_.get(), lost, gone] { d->hasten_election(lost, gone); });
}

void raft_host::add_server(std::uint64_t id, std::string address, int role, done_fn done) {
  post([d = impl_.get(), id, address = std::move(address), role, done = std::move(done)]() mutable {
    d->add_server(id, address, role, std::move(done));
  });
}

void raft_host::assign_role(std::uint64_t id, int role, done_fn done) {
  post([d = impl_.get(), id, role, done = std::move(done)]() mutable {
    d->assign_role(id, role, std::move(done));
  });
}

void raft_host::remove_server(std::uint64_t id, done_fn done) {
  post([d = impl_.get(), id, done = std::move(done)]() mutable {
    d->remove_server(id, std::move(done));
  });
}

bool raft_host::has_log(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path{dir} / "metadata1", ec)
         || std::filesystem::exists(std::filesystem::path{dir} / "metadata2", ec);
}

} // namespace troupe::cluster
