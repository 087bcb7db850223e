#include "proxy/worker_runtime.hh"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.hh"
#include "proxy/access_log.hh"
#include "proxy/acl_eval.hh"
#include "proxy/http_session.hh"
#include "proxy/proxy_protocol.hh"
#include "proxy/session_fetch.hh"
#include "proxy/tls_context.hh"

namespace skjold::proxy {

namespace {

constexpr std::uint64_t kAcceptBackoffMs = 100;

TcpSession& session_of(core::TimerNode* n) noexcept {
    return *reinterpret_cast<TcpSession*>(reinterpret_cast<char*>(n) - offsetof(TcpSession, timer));
}

}  // namespace

WorkerRuntime::WorkerRuntime(Shared& shared, unsigned index, std::vector<ListenerFd> listeners)
    : shared_(shared),
      snap_(*shared.snap),
      index_(index),
      // A few slots over the limit: accepts already completed when the pause takes effect.
      sessions_(static_cast<std::uint32_t>(share_of(shared.global_maxconn, index, shared.nworkers) + 16)),
      stats_(*shared.stats[index]),
      global_limit_(share_of(shared.global_maxconn, index, shared.nworkers)) {
    listeners_.resize(listeners.size());
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        listeners_[i].fd = listeners[i].fd;
        listeners_[i].proxy = listeners[i].proxy;
        listeners_[i].owned = listeners[i].owned;
        listeners_[i].accept_proxy = listeners[i].accept_proxy;
        listeners_[i].bind = listeners[i].bind;
    }
    balancers_.resize(snap_.proxies.size());
    fe_limit_.resize(snap_.proxies.size(), 0);
    for (std::size_t p = 0; p < snap_.proxies.size(); ++p) {
        const auto& px = snap_.proxies[p];
        if (px.is_backend) {
            const auto* st = shared_.state->backend(static_cast<int>(p));
            if (st != nullptr) balancers_[p] = std::make_unique<Balancer>(px, *st, index_, shared_.nworkers);
        }
        if (px.is_frontend) fe_limit_[p] = share_of(px.maxconn, index_, shared_.nworkers);
    }
}

WorkerRuntime::~WorkerRuntime() = default;

void WorkerRuntime::attach(core::Worker& w, std::uint8_t slot) noexcept {
    worker_ = &w;
    host_slot_ = slot;
    for (auto& l : listeners_) tag(l.retry);
    http_ = std::make_unique<HttpEngine>(*this);
    for (std::size_t i = 0; i < listeners_.size(); ++i) arm_accept(static_cast<int>(i));
    state_.store(1, std::memory_order_release);
}

void WorkerRuntime::detach() noexcept {
    // Every session has ended (finished() says so); listeners are closed or handed over.
    http_.reset();
    worker_ = nullptr;
    state_.store(2, std::memory_order_release);
}

bool WorkerRuntime::owns_listener_fd(int fd) const noexcept {
    for (const auto& l : listeners_)
        if (l.fd == fd) return true;
    return false;
}

void WorkerRuntime::retire(const WorkerRuntime& successor) noexcept {
    if (stopping_) return;
    retiring_ = true;
    stopping_ = true;
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        Listener& l = listeners_[i];
        // The same socket in the new generation: it accepts there from now on, so it stays open
        // (connections waiting in its backlog are not refused); the others close once idle.
        if (l.fd >= 0 && successor.owns_listener_fd(l.fd)) l.owned = false;
        worker_->timers().cancel(l.retry.node);
        if (l.armed) cancel_accept(static_cast<int>(i));
        else listener_down(l);
    }
    http_->stop(/*graceful_idle=*/true);
}

bool WorkerRuntime::finished() const noexcept {
    if (!stopping_ || sessions_.in_use() != 0) return false;
    if (http_ && !http_->idle()) return false;   // server connections still closing
    for (const auto& l : listeners_)
        if (l.armed || l.fd >= 0) return false;
    return true;
}

std::uint64_t WorkerRuntime::udata(const TcpSession& s, std::uint8_t op) const noexcept {
    return pack(op, s.slot, sessions_.gen(s.slot));
}

// ---------------------------------------------------------------------------------------------
// Listeners

void WorkerRuntime::arm_accept(int li) noexcept {
    Listener& l = listeners_[li];
    if (l.armed || l.fd < 0 || stopping_) return;
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, pack(kOpAccept, static_cast<std::uint32_t>(li), 0));
    l.armed = true;
}

void WorkerRuntime::on_accept(int li, const io_uring_cqe& cqe) noexcept {
    Listener& l = listeners_[li];
    if (!(cqe.flags & IORING_CQE_F_MORE)) l.armed = false;
    if (cqe.res >= 0) {
        start_session(li, cqe.res);
    } else if (cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOBUFS || cqe.res == -ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning; the timer re-arms.
        stats_.accept_errors.add();
        SKJOLD_LOG(warning, "worker {}: accept: {}; pausing {} ms", index_, std::strerror(-cqe.res), kAcceptBackoffMs);
        if (l.armed) cancel_accept(li);
        l.backoff = true;
        worker_->timers().arm(l.retry.node, worker_->now() + kAcceptBackoffMs);
        return;
    } else if (cqe.res != -ECANCELED) {
        stats_.accept_errors.add();
    }
    if (!l.armed) {
        if (stopping_ || l.closing) {
            listener_down(l);
        } else if (!l.paused && !l.backoff) {
            arm_accept(li);
        }
    }
}

void WorkerRuntime::listener_down(Listener& l) noexcept {
    // Closed only once no accept is in flight on it, so its number cannot be reused under us.
    if (l.fd >= 0 && l.owned) ::close(l.fd);
    l.fd = -1;
}

bool WorkerRuntime::over_limit(const Listener& l) const noexcept {
    int fe = fe_limit_[l.proxy];
    if (fe > 0 && stats_.proxies[l.proxy].cur_conn.read() >= static_cast<std::uint64_t>(fe)) return true;
    return global_limit_ > 0 && sessions_.in_use() >= static_cast<std::uint32_t>(global_limit_);
}

// maxconn (frontend or global) reached: stop accepting on this listener until a session ends;
// HAProxy keeps the extra clients waiting in the listen backlog the same way.
void WorkerRuntime::pause_listener(int li) noexcept {
    Listener& l = listeners_[li];
    if (l.paused) return;
    l.paused = true;
    if (l.armed) cancel_accept(li);
}

void WorkerRuntime::cancel_accept(int li) noexcept {
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_cancel64(sqe, pack(kOpAccept, static_cast<std::uint32_t>(li), 0), 0);
    io_uring_sqe_set_data64(sqe, pack(kOpListenerCancel, static_cast<std::uint32_t>(li), 0));
}

void WorkerRuntime::resume_listeners() noexcept {
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        Listener& l = listeners_[i];
        if (!l.paused || over_limit(l)) continue;
        l.paused = false;
        arm_accept(static_cast<int>(i));
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

void WorkerRuntime::start_session(int li, int fd) noexcept {
    Listener& l = listeners_[li];
    const int fe = l.proxy;
    const auto& px = snap_.proxies[fe];
    if (stopping_ && !retiring_) {
        ::close(fd);
        return;
    }
    std::uint32_t slot = sessions_.acquire();
    if (slot == core::Slab<TcpSession>::kNone) {
        stats_.sessions_refused.add();
        ::close(fd);
        return;
    }
    TcpSession& s = sessions_[slot];
    s = TcpSession{};
    tag(s.timer);
    s.slot = slot;
    s.cfd = fd;
    s.listener = li;
    s.frontend = fe;
    s.last_activity = s.t_accept = worker_->now();
    s.date_us = log_wall_clock_us();
    // The log line names the client; once the connection is gone getpeername() cannot.
    if (!px.logs.empty()) know_address(s, true);
    auto& fc = stats_.proxies[fe];
    fc.cur_conn.add();
    fc.cum_conn.add();

    for (std::size_t i = 0; i < listeners_.size(); ++i)
        if (!listeners_[i].paused && over_limit(listeners_[i])) pause_listener(static_cast<int>(i));

    // tcp-request connection rules, in order; the first whose condition holds decides. They run
    // right after accept, on the real peer, before any PROXY header (HAProxy's order).
    SessionFetch ctx(shared_, s);
    for (const auto& r : px.tcp_request_connection) {
        if (!evaluate(r.cond, px, ctx)) continue;
        if (r.action == conf::Rule::Action::reject) {
            fc.denied_conn.add();
            s.state = TcpState::closing;
            s.no_log = true;
            release_if_idle(s);
            return;
        }
        break;   // accept
    }
    if (l.accept_proxy) {
        s.state = TcpState::proxy_header;
        if (px.timeouts.client >= 0)
            worker_->timers().arm(s.timer.node, worker_->now() + static_cast<std::uint64_t>(px.timeouts.client));
        arm_recv(s, true);
        return;
    }
    start_client(s);   // TLS handshake first on a `bind ... ssl` (tls_front.cc), then routing
}

// Backend selection and the first connect: after accept, or once the PROXY header has told
// who the client really is.
void WorkerRuntime::route_session(TcpSession& s) noexcept {
    if (snap_.proxies[s.frontend].mode == conf::Mode::http) {
        http_->start(s);   // HTTP routes each request once its head is known
        return;
    }
    if (!choose_backend(s)) {
        stats_.proxies[s.frontend].no_server.add();
        set_term(s, 'S', 'C');
        abort_session(s);
        return;
    }
    const auto& be = snap_.proxies[s.backend];
    s.retries_left = be.retries;
    stats_.proxies[s.backend].cur_conn.add();
    stats_.proxies[s.backend].cum_conn.add();
    connect_server(s, -1);
}

void WorkerRuntime::on_proxy_header_data(TcpSession& s) noexcept {
    // The header nearly always sits in the first buffer; copy at most kMaxProxyHeader bytes
    // from the queue so one that spans buffers parses the same way.
    std::uint8_t head[kMaxProxyHeader];
    std::size_t n = 0;
    auto& br = worker_->buffers();
    for (std::uint16_t b = s.c2s.q.head; b != core::kNoBuffer && n < sizeof head; b = br.meta(b).next) {
        const auto& m = br.meta(b);
        std::size_t take = std::min<std::size_t>(m.len - m.off, sizeof head - n);
        std::memcpy(head + n, br.data(b) + m.off, take);
        n += take;
    }
    ProxyHeader h;
    const char* why = nullptr;
    switch (parse_proxy_header({head, n}, h, why)) {
    case ProxyParse::need_more:
        return;
    case ProxyParse::error:
        stats_.proxies[s.frontend].denied_conn.add();
        refused_proxy_header(s, why);
        set_term(s, 'P', 'R');
        abort_session(s);
        return;
    case ProxyParse::ok:
        break;
    }
    s.c2s.q.consume(br, static_cast<std::uint32_t>(h.length));
    if (h.has_addresses) {
        s.src = h.src;
        s.dst = h.dst;
        s.src_port = h.src_port;
        s.dst_port = h.dst_port;
        s.src_known = s.dst_known = true;
    }
    worker_->timers().cancel(s.timer.node);
    start_client(s);
}

bool WorkerRuntime::choose_backend(TcpSession& s) noexcept {
    const auto& px = snap_.proxies[s.frontend];
    SessionFetch ctx(shared_, s);
    for (const auto& ub : px.use_backends) {
        if (ub.backend >= 0 && evaluate(ub.cond, px, ctx)) {
            s.backend = ub.backend;
            return balancers_[s.backend] != nullptr;
        }
    }
    if (px.default_backend >= 0) s.backend = px.default_backend;
    else if (px.is_backend) s.backend = s.frontend;   // a listen section is its own backend
    return s.backend >= 0 && balancers_[s.backend] != nullptr;
}

void WorkerRuntime::connect_server(TcpSession& s, int avoid, int force) noexcept {
    const auto& be = snap_.proxies[s.backend];
    Balancer& bal = *balancers_[s.backend];
    if (be.balance == conf::Balance::source) know_address(s, true);
    int srv = force;
    if (srv < 0) {
        // Server maxconn: behind sessions already waiting, or when every usable server is
        // full, wait in the backend queue (worker_queue.cc) for a slot or timeout queue.
        srv = queue_waiting(s.backend) ? -1 : bal.pick(s.src, avoid);
        if (srv < 0 && bal.candidates() > 0) {
            enqueue(s);
            return;
        }
        if (srv >= 0) note_queue_time(s.backend, srv, 0);
    }
    if (srv < 0) {
        stats_.proxies[s.backend].no_server.add();
        SKJOLD_LOG(debug, "backend {}: no server available", be.name);
        set_term(s, 'S', 'C');
        abort_session(s);
        return;
    }
    s.server = srv;
    bal.on_connect(srv);
    auto& sc = stats_.servers[s.backend][srv];
    sc.cur_conn.add();
    sc.cum_conn.add();

    core::SockAddr& addr = s.server_sa;
    addr = be.servers[srv].addr;
    // No port on the server line: the port the client connected to.
    if (addr.port() == 0 && know_address(s, false)) addr.set_port(s.dst_port);
    s.sfd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // `server ... ssl`: TLS once connected (tcp_server_tls.cc); never clear text to such a
    // server when its contexts are missing.
    s.srv_tls.ctx = server_tls_context(s.backend, srv);
    if (s.sfd >= 0 && s.srv_tls.ctx == nullptr && be.servers[srv].opt.ssl) {
        ::close(s.sfd);
        s.sfd = -1;
    }
    if (s.sfd < 0) {
        stats_.sessions_refused.add();
        s.state = TcpState::connecting;
        connect_failed(s);
        return;
    }
    if (!addr.is_unix()) {
        int one = 1;
        setsockopt(s.sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    s.state = TcpState::connecting;
    s.t_connect = worker_->now();
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_connect(sqe, s.sfd, addr.sa(), addr.len);
    io_uring_sqe_set_data64(sqe, udata(s, kOpConnect));
    ++s.inflight;
    std::int64_t ct = be.timeouts.connect;
    if (ct >= 0) worker_->timers().arm(s.timer.node, worker_->now() + static_cast<std::uint64_t>(ct));
}

void WorkerRuntime::on_connect(TcpSession& s, int res) noexcept {
    --s.inflight;
    if (s.aborting) {
        release_if_idle(s);
        return;
    }
    worker_->timers().cancel(s.timer.node);
    // Passive health (`observe layer4`): every connect outcome, before retries hide it (with
    // ssl, the success is reported once the handshake is done).
    if (shared_.observer && !(res == 0 && s.srv_tls.active()))
        shared_.observer->report(index_, s.backend, s.server,
                                 res == 0              ? health::ObserveEvent::l4_ok
                                 : res == -ECANCELED   ? health::ObserveEvent::l4_timeout
                                                       : health::ObserveEvent::l4_error);
    if (res == 0) {
        s.t_connected = worker_->now();
        const auto& opt = snap_.proxies[s.backend].servers[s.server].opt;
        if (opt.send_proxy || opt.send_proxy_v2) send_proxy_header(s);
        else server_side_ready(s);
        return;
    }
    auto& sc = stats_.servers[s.backend][s.server];
    sc.conn_errors.add();
    stats_.proxies[s.backend].conn_errors.add();
    SKJOLD_LOG(debug, "connect to {}/{} failed: {}", snap_.proxies[s.backend].name,
               snap_.proxies[s.backend].servers[s.server].name, res == -ECANCELED ? "timeout" : std::strerror(-res));
    connect_failed(s);
}

void WorkerRuntime::connect_failed(TcpSession& s) noexcept {
    if (s.sfd >= 0) {
        ::close(s.sfd);
        s.sfd = -1;
    }
    const auto& be = snap_.proxies[s.backend];
    int failed = s.server;
    balancers_[s.backend]->on_release(failed);
    stats_.servers[s.backend][failed].cur_conn.sub();
    if (s.retries_left <= 0) {
        set_term(s, 'S', 'C');
        abort_session(s);
        return;
    }
    --s.retries_left;
    stats_.proxies[s.backend].retries.add();
    // HAProxy's `option redispatch` default (interval -1): the last retry goes to another
    // server. Retries to the same server wait min(timeout connect, 1 s) first, as HAProxy does
    // so a restarting server is not hammered; a redispatch goes at once.
    if (be.option_redispatch && s.retries_left == 0) {
        stats_.proxies[s.backend].redispatches.add();
        connect_server(s, failed);
        return;
    }
    std::int64_t wait = min_set(be.timeouts.connect, 1000);
    s.state = TcpState::retry_wait;
    s.server = failed;
    worker_->timers().arm(s.timer.node, worker_->now() + static_cast<std::uint64_t>(wait));
}

void WorkerRuntime::send_proxy_header(TcpSession& s) noexcept {
    // The client as we know it: the PROXY header's addresses when one came in, else the peer.
    bool known = know_address(s, true);
    known = know_address(s, false) && known;
    const auto& opt = snap_.proxies[s.backend].servers[s.server].opt;
    std::span<std::uint8_t> out(s.proxy_out, sizeof s.proxy_out);
    std::size_t n = opt.send_proxy_v2 ? build_proxy_v2(out, known, s.src, s.src_port, s.dst, s.dst_port)
                                      : build_proxy_v1(out, known, s.src, s.src_port, s.dst, s.dst_port);
    s.proxy_out_len = static_cast<std::uint8_t>(n);
    s.proxy_out_off = 0;
    s.state = TcpState::sending_proxy;
    send_proxy_rest(s);
}

void WorkerRuntime::send_proxy_rest(TcpSession& s) noexcept {
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_send(sqe, s.sfd, s.proxy_out + s.proxy_out_off, s.proxy_out_len - s.proxy_out_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, udata(s, kOpSendProxy));
    ++s.inflight;
}

bool WorkerRuntime::send_completed(TcpSession& s, int res) noexcept {
    --s.inflight;
    if (s.aborting) {
        release_if_idle(s);
        return false;
    }
    if (res <= 0) {
        abort_session(s);
        return false;
    }
    return true;
}

void WorkerRuntime::on_proxy_sent(TcpSession& s, int res) noexcept {
    if (!send_completed(s, res)) return;
    s.proxy_out_off = static_cast<std::uint8_t>(s.proxy_out_off + res);
    if (s.proxy_out_off < s.proxy_out_len) send_proxy_rest(s);
    else server_side_ready(s);
}

void WorkerRuntime::start_relay(TcpSession& s) noexcept {
    s.state = TcpState::relaying;
    const auto& fe = snap_.proxies[s.frontend];
    const auto& be = snap_.proxies[s.backend];
    // One inactivity timeout for the tunnel: `timeout tunnel` when set, else the smaller of
    // `timeout client` and `timeout server` (HAProxy's tunnel rule; see skjold.cfg(5)).
    s.idle_timeout = be.timeouts.tunnel >= 0 ? be.timeouts.tunnel
                                             : min_set(fe.timeouts.client, be.timeouts.server);
    s.last_activity = worker_->now();
    arm_idle_timer(s);
    arm_recv(s, true);
    arm_recv(s, false);
    // Bytes that came with or after a PROXY header while connecting, bytes that followed an
    // HTTP upgrade on either side, and a FIN already seen.
    kick_send(s, true);
    kick_send(s, false);
    maybe_finish(s);
}

void WorkerRuntime::arm_idle_timer(TcpSession& s) noexcept {
    if (s.idle_timeout >= 0)
        worker_->timers().arm(s.timer.node, s.last_activity + static_cast<std::uint64_t>(s.idle_timeout));
}

void WorkerRuntime::arm_recv(TcpSession& s, bool client_side) noexcept {
    Direction& d = client_side ? s.c2s : s.s2c;
    if (!client_side && s.srv_tls.active()) {
        // TLS server: plaintext held back by backpressure is decrypted on a borrowed buffer's
        // completion; received ciphertext counts toward the marks.
        if (s.state == TcpState::relaying && s.srv_tls.backlog() && d.q.bytes < kLowWater) server_tls_borrow(s);
        if (s.srv_tls.failing || s.srv_tls.eof || d.q.bytes + s.srv_tls.held() >= kLowWater) return;
    }
    if (d.recv_armed || d.eof || s.aborting || d.q.bytes >= kLowWater) return;
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_recv_multishot(sqe, client_side ? s.cfd : s.sfd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = worker_->buffers().group();
    io_uring_sqe_set_data64(sqe, udata(s, client_side ? kOpRecvClient : kOpRecvServer));
    d.recv_armed = true;
    d.cancel_sent = false;
    d.starved = false;
    ++s.inflight;
}

void WorkerRuntime::kick_send(TcpSession& s, bool to_server) noexcept {
    Direction& d = to_server ? s.c2s : s.s2c;
    if (d.send_inflight || d.q.empty() || s.aborting || s.state != TcpState::relaying) return;
    auto& br = worker_->buffers();
    auto& m = br.meta(d.q.head);
    if (to_server && s.srv_tls.active()) {   // TLS server: encrypted first; on_send follows (tcp_server_tls.cc)
        server_tls_send(s);
        return;
    }
    if (!to_server && s.tls != nullptr) {   // TLS: encrypted first; completes in on_send (tls_front.cc)
        d.send_inflight = true;
        tls_send(s, br.data(d.q.head) + m.off, m.len - m.off);
        return;
    }
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_send(sqe, to_server ? s.sfd : s.cfd, br.data(d.q.head) + m.off, m.len - m.off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, udata(s, to_server ? kOpSendServer : kOpSendClient));
    d.send_inflight = true;
    ++s.inflight;
}

void WorkerRuntime::on_recv(TcpSession& s, bool client_side, const io_uring_cqe& raw) noexcept {
    if (!client_side && s.srv_tls.active()) {   // TLS server: decrypted into s2c.q (tcp_server_tls.cc)
        on_server_tls_recv(s, raw);
        return;
    }
    io_uring_cqe cqe = raw;
    // TLS client: the ciphertext becomes plaintext in the queue and `cqe` says how much.
    if (client_side && s.tls != nullptr && !tls_on_recv(s, cqe)) return;
    Direction& d = client_side ? s.c2s : s.s2c;
    auto& br = worker_->buffers();
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
        d.recv_armed = false;
        --s.inflight;
    }
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        br.taken();
        if (cqe.res <= 0 || s.aborting) br.recycle(bid);
        else d.q.push(br, bid, static_cast<std::uint32_t>(cqe.res));
    }
    if (s.aborting) {
        release_if_idle(s);
        return;
    }
    if (s.state == TcpState::http) {
        http_->on_client_recv(s, cqe);
        return;
    }
    if (cqe.res > 0) {
        s.last_activity = worker_->now();
        auto& pc = stats_.proxies[s.frontend];
        if (client_side) {
            pc.bytes_in.add(static_cast<std::uint64_t>(cqe.res));
            s.bytes_in += static_cast<std::uint64_t>(cqe.res);
        } else {
            pc.bytes_out.add(static_cast<std::uint64_t>(cqe.res));
            s.bytes_out += static_cast<std::uint64_t>(cqe.res);
        }
        if (s.state == TcpState::proxy_header) {
            on_proxy_header_data(s);
            if (s.aborting) return;
        }
        kick_send(s, client_side);
        if (d.recv_armed && !d.cancel_sent && d.q.bytes >= kHighWater) {
            // Backpressure: the other side is not taking bytes as fast as this one sends them.
            cancel_op(s, client_side ? kOpRecvClient : kOpRecvServer);
            d.cancel_sent = true;
        }
        if (!more) arm_recv(s, client_side);
        return;
    }
    if (cqe.res == 0) {
        d.eof = true;
        maybe_finish(s);
        return;
    }
    if (cqe.res == -ENOBUFS) {
        // The worker's buffer ring ran dry: wait for buffers to come back, then re-arm.
        d.starved = true;
        starved_.push_back(s.slot);
        return;
    }
    if (cqe.res == -ECANCELED) {
        arm_recv(s, client_side);   // re-armed only once the queue is below the low mark
        return;
    }
    set_term(s, client_side ? 'C' : 'S', 'D');
    abort_session(s);   // ECONNRESET and friends
}

void WorkerRuntime::on_send(TcpSession& s, bool to_server, int res) noexcept {
    Direction& d = to_server ? s.c2s : s.s2c;
    d.send_inflight = false;
    if (!send_completed(s, res)) return;
    d.q.consume(worker_->buffers(), static_cast<std::uint32_t>(res));
    s.last_activity = worker_->now();
    kick_send(s, to_server);
    arm_recv(s, to_server);   // the source of this direction: client when sending to the server
    maybe_finish(s);
}

// A refused PROXY header (malformed, truncated, too slow) is logged at warning, at most one line
// per second per worker with the count of those not shown, so a flood cannot fill the log.
void WorkerRuntime::refused_proxy_header(TcpSession& s, const char* why) noexcept {
    if (auto a = refused_proxy_log_.admit(worker_->now())) {
        // At most once a second: the allocation of to_string() does not matter here.
        know_address(s, true);
        SKJOLD_LOG(warning, "frontend {}: refused a connection from {}: {} ({} more since the last such line)",
                   snap_.proxies[s.frontend].name, s.src_known ? s.src.to_string() : std::string("-"), why,
                   a.suppressed);
    }
}

void WorkerRuntime::maybe_finish(TcpSession& s) noexcept {
    if (s.state != TcpState::relaying) {
        // A client that closes before its PROXY header is complete is gone for good; other
        // FINs seen before relaying are propagated once it starts.
        if (s.state == TcpState::proxy_header && s.c2s.eof) {
            refused_proxy_header(s, "the client closed before its PROXY header was complete");
            set_term(s, 'C', 'R');
            abort_session(s);
        }
        return;
    }
    // Half-close: once a side's FIN has been received and everything before it was sent on,
    // shut the other side's write half; the reply still flows back.
    auto propagate = [&](Direction& d, int dst) {
        if (d.eof && !d.shut && d.q.empty() && !d.send_inflight) {
            if (dst == s.cfd) shutdown_client_write(s);   // TLS: after a close_notify
            else shutdown_server_write(s);                // TLS server: after a close_notify
            d.shut = true;
            const auto& fe = snap_.proxies[s.frontend];
            const auto& be = snap_.proxies[s.backend];
            std::int64_t fin = min_set(fe.timeouts.client_fin, be.timeouts.server_fin);
            if (fin >= 0) s.idle_timeout = min_set(s.idle_timeout, fin);
        }
    };
    propagate(s.c2s, s.sfd);
    propagate(s.s2c, s.cfd);
    if (s.c2s.shut && s.s2c.shut) {
        s.state = TcpState::closing;
        worker_->timers().cancel(s.timer.node);
        release_if_idle(s);
    }
}

void WorkerRuntime::cancel_op(TcpSession& s, std::uint8_t op) noexcept {
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_cancel64(sqe, udata(s, op), 0);
    io_uring_sqe_set_data64(sqe, udata(s, kOpCancel));
    ++s.inflight;
}

void WorkerRuntime::abort_session(TcpSession& s) noexcept {
    if (s.aborting) return;
    s.aborting = true;
    dequeue(s);   // before the HTTP side forgets s.backend
    if (s.http != kNoSlot) http_->on_abort(s);
    s.state = TcpState::closing;
    worker_->timers().cancel(s.timer.node);
    // Cancel everything in flight on both sockets; the slot is freed when the last
    // completion has come back (release_if_idle). Nothing in flight (the usual end of a
    // connection: the client's FIN ended its receive): nothing to cancel, close at once.
    const bool busy = s.inflight != 0;
    for (int fd : {s.cfd, s.sfd}) {
        if (fd < 0 || !busy) continue;
        // shutdown also ends the operations a kernel without IORING_ASYNC_CANCEL_FD keeps.
        ::shutdown(fd, SHUT_RDWR);
        io_uring_sqe* sqe = worker_->ring().sqe();
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, udata(s, kOpCancel));
        ++s.inflight;
    }
    release_if_idle(s);
}

void WorkerRuntime::release_if_idle(TcpSession& s) noexcept {
    if (s.inflight != 0 || s.state != TcpState::closing) return;
    if (s.http != kNoSlot) http_->release(s);   // undoes its transaction's counts, frees its blocks
    else if (snap_.proxies[s.frontend].mode == conf::Mode::tcp && !s.no_log) log_tcp_session(s);
    auto& br = worker_->buffers();
    s.c2s.q.clear(br);
    s.s2c.q.clear(br);
    worker_->timers().cancel(s.timer.node);
    if (s.tls != nullptr) tls_release(s);
    s.srv_tls.release(br);   // TLS to the server: its connection and buffers (nothing if plain)
    if (s.cfd >= 0) ::close(s.cfd);
    if (s.sfd >= 0) ::close(s.sfd);
    if (s.backend >= 0) {
        stats_.proxies[s.backend].cur_conn.sub();
        if (s.server >= 0 && s.sfd >= 0) {
            balancers_[s.backend]->on_release(s.server);
            stats_.servers[s.backend][s.server].cur_conn.sub();
        }
    }
    stats_.proxies[s.frontend].cur_conn.sub();
    s.cfd = s.sfd = -1;
    s.state = TcpState::free;
    sessions_.release(s.slot);
    if (!listeners_.empty()) resume_listeners();
}

// ACCESS LOG (tcp mode): one tcplog line per session, at its end. HTTP sessions log per request
// (HttpEngine::log_transaction), an upgraded one when its tunnel starts.
void WorkerRuntime::log_tcp_session(TcpSession& s) noexcept {
    const auto& fe = snap_.proxies[s.frontend];
    if (log_ring_ == nullptr || fe.logs.empty() || !(fe.option_httplog || fe.option_tcplog)) return;
    AccessLogFields f;
    if (know_address(s, true)) {
        f.client_ip = s.src;
        f.client_port = s.src_port;
    } else {
        f.client_kind = AccessLogFields::Client::unknown;
    }
    f.date_us = s.date_us;
    f.frontend = fe.name;
    const std::uint64_t now = worker_->now();
    if (s.backend >= 0) {
        const auto& be = snap_.proxies[s.backend];
        f.backend = be.name;
        if (s.server >= 0) f.server = be.servers[s.server].name;
        f.beconn = static_cast<std::uint32_t>(stats_.proxies[s.backend].cur_conn.read());
        if (s.server >= 0) f.srvconn = static_cast<std::uint32_t>(stats_.servers[s.backend][s.server].cur_conn.read());
        f.retries = static_cast<std::uint32_t>(be.retries - s.retries_left);
    }
    // Tw: from joining the backend queue to the connect (or to the end, when it never left it).
    if (s.queue.since != 0) {
        f.t_queue = static_cast<std::int64_t>((s.t_connect >= s.queue.since ? s.t_connect : now) - s.queue.since);
        f.backend_queue = s.queue.ahead;
    } else {
        f.t_queue = s.t_connect != 0 ? 0 : -1;
    }
    f.t_connect = s.t_connected != 0 ? static_cast<std::int64_t>(s.t_connected - s.t_connect) : -1;
    f.t_total = static_cast<std::int64_t>(now - s.t_accept);
    f.bytes_out = s.bytes_out;
    f.bytes_in = s.bytes_in;
    f.term_cause = static_cast<TermCause>(s.term_cause);
    f.term_phase = static_cast<TermPhase>(s.term_phase);
    f.feconn = static_cast<std::uint32_t>(stats_.proxies[s.frontend].cur_conn.read());
    f.actconn = sessions_.in_use();
    log_session(*log_ring_, fe, s.frontend, shared_.generation, f);
}

void WorkerRuntime::set_term(TcpSession& s, char cause, char phase) noexcept {
    if (s.term_cause != '-') return;   // the first event decides
    s.term_cause = cause;
    s.term_phase = phase;
}

// ---------------------------------------------------------------------------------------------
// Loop callbacks

void WorkerRuntime::on_completion(const io_uring_cqe& cqe) noexcept {
    auto ud = core::UserData::unpack(cqe.user_data);
    ud.op &= kOpMask;
    if (ud.op == kOpAccept) {
        on_accept(static_cast<int>(ud.slot), cqe);
        return;
    }
    if (ud.op == kOpListenerCancel) return;
    if (ud.op >= kOpConnConnect && ud.op <= kOpConnBorrow) {
        http_->on_conn_completion(ud.op, ud.slot, ud.gen, cqe);
        return;
    }
    if (!sessions_.live(ud.slot, ud.gen)) {
        // Cannot happen while inflight counting holds; keep the buffer ring whole regardless.
        if (cqe.flags & IORING_CQE_F_BUFFER) {
            worker_->buffers().taken();
            worker_->buffers().recycle(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
        }
        return;
    }
    TcpSession& s = sessions_[ud.slot];
    switch (ud.op) {
    case kOpRecvClient: on_recv(s, true, cqe); break;
    case kOpRecvServer: on_recv(s, false, cqe); break;
    case kOpSendServer: on_send(s, true, cqe.res); break;
    case kOpSendClient:
        if (s.state == TcpState::http) http_->on_client_sent(s, cqe.res);
        else on_send(s, false, cqe.res);
        break;
    case kOpConnect: on_connect(s, cqe.res); break;
    case kOpSendProxy: on_proxy_sent(s, cqe.res); break;
    case kOpTlsSendClient: on_tls_sent(s, cqe.res); break;
    case kOpTlsSendServer: on_server_tls_sent(s, cqe.res); break;
    case kOpTlsBorrowServer: on_server_tls_borrowed(s, cqe); break;
    case kOpCancel:
        --s.inflight;
        release_if_idle(s);
        break;
    default: break;
    }
}

void WorkerRuntime::on_timer(core::TimerNode* node) noexcept {
    const auto* tag = reinterpret_cast<const TaggedTimer*>(node);
    if (tag->owner == TimerOwner::listener) {
        for (auto& l : listeners_) {
            if (node == &l.retry.node) {
                l.backoff = false;
                if (!l.armed && !l.paused && !stopping_) arm_accept(static_cast<int>(&l - listeners_.data()));
                return;
            }
        }
        return;
    }
    if (tag->owner == TimerOwner::server_conn) {
        http_->on_conn_timer(*reinterpret_cast<ServerConn*>(reinterpret_cast<char*>(node) - offsetof(ServerConn, timer)));
        return;
    }
    TcpSession& s = session_of(node);
    switch (s.state) {
    case TcpState::http:
        http_->on_timer(s);
        break;
    case TcpState::tls_handshake:
        // No complete TLS handshake within timeout client (a stalled or very slow client).
        stats_.proxies[s.frontend].timeouts.add();
        if (TlsContext* ctx = listener_tls(s.listener)) {
            ctx->stats().failed.add();
            ctx->stats().failed_other.add();
        }
        tls_failed(s, "no complete handshake within timeout client");
        break;
    case TcpState::proxy_header:
        // No complete PROXY header within timeout client.
        stats_.proxies[s.frontend].timeouts.add();
        refused_proxy_header(s, "no complete PROXY header within timeout client");
        set_term(s, 'c', 'R');
        abort_session(s);
        break;
    case TcpState::connecting:
        // timeout connect: cancel the connect; its completion (-ECANCELED) retries or gives up.
        stats_.proxies[s.backend].timeouts.add();
        if (s.srv_tls.handshaking) server_tls_failed(s, "timeout during the handshake", health::ObserveEvent::l4_timeout);
        else cancel_op(s, kOpConnect);
        break;
    case TcpState::retry_wait:
        connect_server(s, -1, s.server);
        break;
    case TcpState::queued:
        // timeout queue: no slot freed in time; the client's connection closes (sQ).
        dequeue(s);
        queue_failed(s, true);
        break;
    case TcpState::relaying:
        if (worker_->now() - s.last_activity >= static_cast<std::uint64_t>(s.idle_timeout)) {
            stats_.proxies[s.frontend].timeouts.add();
            set_term(s, 'c', 'D');
            abort_session(s);
        } else {
            arm_idle_timer(s);
        }
        break;
    default: break;
    }
}

void WorkerRuntime::after_batch() noexcept {
    if (!starved_.empty() && worker_->buffers().available() > worker_->buffers().count() / 4) {
        for (std::uint32_t slot : starved_) {
            TcpSession& s = sessions_[slot];
            if ((s.state != TcpState::relaying && s.state != TcpState::http && s.state != TcpState::tls_handshake) ||
                s.aborting)
                continue;
            if (s.c2s.starved) arm_recv(s, true);
            if (s.s2c.starved) arm_recv(s, false);
        }
        starved_.clear();
    }
    if (http_) http_->after_batch();
    serve_queues();
}

void WorkerRuntime::on_message(const core::Message& m) noexcept {
    if (m.kind == kMsgStop && (!stopping_ || retiring_)) {
        // (A retiring generation stops for good too: its idle clients close now.)
        retiring_ = false;
        stopping_ = true;
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            Listener& l = listeners_[i];
            worker_->timers().cancel(l.retry.node);
            if (l.armed) cancel_accept(static_cast<int>(i));
            else listener_down(l);
        }
        http_->stop(/*graceful_idle=*/false);   // idle keep-alive and pooled connections close now
    } else if (m.kind == kMsgHardStop) {
        stopping_ = true;
        sessions_.for_each_live([&](std::uint32_t, TcpSession& s) { abort_session(s); });
        http_->stop(/*graceful_idle=*/false);
    }
}

}  // namespace skjold::proxy
