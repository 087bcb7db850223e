// HttpEngine, server connections: connect (timeout connect, retries, redispatch), the multishot
// receive every connection keeps armed, sends, the per-server idle pools, closing.
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.hh"
#include "proxy/balancer.hh"
#include "proxy/http_session.hh"
#include "proxy/session_fetch.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

namespace {

// How long a connection waits in the idle pool (HAProxy's pool-purge-delay default).
constexpr std::uint64_t kPoolIdleMs = 5000;
// Idle connections kept beyond one per client session of this worker.
constexpr std::uint32_t kIdleSlack = 16;

}  // namespace

std::uint64_t HttpEngine::conn_udata(const ServerConn& c, std::uint8_t op) const noexcept {
    return rt_.pack(op, c.slot, conns_.gen(c.slot));
}

ServerConn* HttpEngine::conn_of(HttpSession& h) noexcept {
    return h.conn == kNoSlot ? nullptr : &conns_[h.conn];
}

HttpSession* HttpEngine::owner_of(ServerConn& c, TcpSession*& s) noexcept {
    if (c.owner == kNoSlot) return nullptr;
    HttpSession& h = sessions_[c.owner];
    s = &ts(h);
    if (s->aborting || s->http != h.slot) return nullptr;
    return &h;
}

ServerConn* HttpEngine::new_conn(TcpSession& s, int backend, int server) noexcept {
    std::uint32_t slot = conns_.acquire();
    if (slot == core::Slab<ServerConn>::kNone) return nullptr;
    ServerConn& c = conns_[slot];
    c = ServerConn{};
    rt_.tag(c.timer);
    c.slot = slot;
    c.backend = backend;
    c.server = server;
    c.tls.ctx = server_tls_context(backend, server);   // `server ... ssl`: TLS after the connect
    if (c.tls.ctx == nullptr && rt_.snap_.proxies[backend].servers[server].opt.ssl) {
        conns_.release(slot);   // never plaintext to a server that expects TLS (no contexts built)
        return nullptr;
    }
    c.addr = rt_.snap_.proxies[backend].servers[server].addr;
    // No port on the server line: the port the client connected to.
    if (c.addr.port() == 0 && know_address(s, false)) c.addr.set_port(s.dst_port);
    c.fd = ::socket(c.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        conns_.release(slot);
        return nullptr;
    }
    if (!c.addr.is_unix()) {
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    c.state = ConnState::connecting;
    return &c;
}

void HttpEngine::connect_conn(ServerConn& c) noexcept {
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_connect(sqe, c.fd, c.addr.sa(), c.addr.len);
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnConnect));
    ++c.inflight;
    std::int64_t ct = rt_.snap_.proxies[c.backend].timeouts.connect;
    if (ct >= 0) rt_.worker_->timers().arm(c.timer.node, rt_.worker_->now() + static_cast<std::uint64_t>(ct));
}

void HttpEngine::observe(int backend, int server, health::ObserveEvent ev) noexcept {
    if (rt_.shared_.observer && server >= 0) rt_.shared_.observer->report(rt_.index_, backend, server, ev);
}

void HttpEngine::on_connected(ServerConn& c, int res) noexcept {
    --c.inflight;
    rt_.worker_->timers().cancel(c.timer.node);
    if (c.state == ConnState::closing) {
        release_conn_if_idle(c);
        return;
    }
    TcpSession* s = nullptr;
    HttpSession* h = owner_of(c, s);
    if (h == nullptr) {
        close_conn(c);
        return;
    }
    if (res == 0 && c.tls.active()) {
        start_conn_tls(c);   // observed and ready once the handshake is done (http_conn_tls.cc)
        return;
    }
    // Passive health (`observe layer4`), after the owner checks: a cancel caused by a client
    // abort is not the server's fault.
    observe(c.backend, c.server,
            res == 0              ? health::ObserveEvent::l4_ok
            : res == -ECANCELED   ? health::ObserveEvent::l4_timeout
                                  : health::ObserveEvent::l4_error);
    if (res == 0) {
        conn_ready(c, *s, *h);
        return;
    }
    rt_.stats_.servers[c.backend][c.server].conn_errors.add();
    rt_.stats_.proxies[c.backend].conn_errors.add();
    SKJOLD_LOG(debug, "connect to {}/{} failed: {}", rt_.snap_.proxies[c.backend].name,
               rt_.snap_.proxies[c.backend].servers[c.server].name,
               res == -ECANCELED ? "timeout" : std::strerror(-res));
    h->conn = kNoSlot;
    close_conn(c);
    connect_failed(*s, *h);
}

// Connected (and, with `ssl`, the handshake done): the request goes out.
void HttpEngine::conn_ready(ServerConn& c, TcpSession& s, HttpSession& h) noexcept {
    c.state = ConnState::busy;
    arm_conn_recv(c);
    h.t_connected = rt_.worker_->now();
    auto& be = rt_.stats_.proxies[c.backend];
    be.ctime_sum.add(h.t_connected - h.t_assigned);
    be.ctime_n.add();
    send_request(s, h, c);
}

// As tcp mode: retries to the same server after min(timeout connect, 1 s); with
// `option redispatch` the last retry goes to another server at once; then 503.
void HttpEngine::connect_failed(TcpSession& s, HttpSession& h) noexcept {
    const auto& be = rt_.snap_.proxies[s.backend];
    const int failed = s.server;
    rt_.balancers_[s.backend]->on_release(failed);
    rt_.stats_.servers[s.backend][failed].cur_conn.sub();
    s.server = -1;
    if (h.retries_left <= 0) {
        reply_error(s, h, 503, TermCause::server_abort, TermPhase::connect);
        return;
    }
    --h.retries_left;
    rt_.stats_.proxies[s.backend].retries.add();
    rt_.stats_.servers[s.backend][failed].retries.add();
    if (be.option_redispatch && h.retries_left == 0) {
        rt_.stats_.proxies[s.backend].redispatches.add();
        rt_.stats_.servers[s.backend][failed].redispatches.add();
        h.redispatched = true;
        assign_server(s, h, failed);
        return;
    }
    h.retry_server = failed;
    h.phase = HttpPhase::connecting;
    arm_timer(s, h);
}

void HttpEngine::arm_conn_recv(ServerConn& c) noexcept {
    if (c.tls.active() && !c.tls.handshaking && c.tls.backlog() && c.in.bytes < kLowWater && c.state == ConnState::busy)
        conn_borrow(c);   // decrypted data held back (backpressure): delivered on the borrow's completion
    if (c.recv_armed || c.eof || c.failed || c.fd < 0 || c.in.bytes + c.tls.held() >= kLowWater || c.tls.eof) return;
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = rt_.worker_->buffers().group();
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnRecv));
    c.recv_armed = true;
    c.cancel_sent = false;
    c.starved = false;
    ++c.inflight;
}

void HttpEngine::cancel_conn_recv(ServerConn& c) noexcept {
    if (!c.recv_armed || c.cancel_sent) return;
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_cancel64(sqe, conn_udata(c, kOpConnRecv), 0);
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnCancel));
    ++c.inflight;
    c.cancel_sent = true;
}

void HttpEngine::on_conn_recv(ServerConn& c, const io_uring_cqe& cqe) noexcept {
    auto& br = rt_.worker_->buffers();
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
        c.recv_armed = false;
        --c.inflight;
    }
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        br.taken();
        if (cqe.res <= 0 || c.state == ConnState::closing) br.recycle(bid);
        else if (c.tls.active()) c.tls.on_cipher(br, bid, static_cast<std::uint32_t>(cqe.res));
        else c.in.push(br, bid, static_cast<std::uint32_t>(cqe.res));
    }
    if (c.state == ConnState::closing) {
        release_conn_if_idle(c);
        return;
    }
    if (c.tls.active()) {
        on_conn_tls_recv(c, cqe, more);
        return;
    }
    TcpSession* s = nullptr;
    HttpSession* h = c.state == ConnState::busy ? owner_of(c, s) : nullptr;
    if (cqe.res > 0) {
        rt_.stats_.servers[c.backend][c.server].bytes_in.add(static_cast<std::uint64_t>(cqe.res));
        if (h == nullptr) {
            close_conn(c);   // bytes on an idle connection: nobody asked for them
            return;
        }
        h->last_server = rt_.worker_->now();
        if (c.recv_armed && !c.cancel_sent && c.in.bytes >= kHighWater) cancel_conn_recv(c);   // slow client
        pump(*s, *h);
        if (!more && c.state == ConnState::busy) arm_conn_recv(c);
        return;
    }
    if (cqe.res == -ENOBUFS) {
        c.starved = true;
        starved_conns_.push_back(c.slot);
        return;
    }
    if (cqe.res == -ECANCELED) {
        if (h != nullptr && h->phase == HttpPhase::tunnel_wait) try_handoff(*s, *h);
        else if (c.state == ConnState::busy) arm_conn_recv(c);
        return;
    }
    if (cqe.res == 0) c.eof = true;
    else c.failed = true;
    if (h == nullptr) {
        close_conn(c);   // an idle connection the server closed: dropped from the pool
        return;
    }
    pump(*s, *h);
}

void HttpEngine::conn_send(ServerConn& c, const char* data, std::uint32_t len) noexcept {
    if (c.tls.active()) {
        conn_tls_send(c, data, len);
        return;
    }
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_send(sqe, c.fd, data, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnSend));
    ++c.inflight;
    c.send_inflight = true;
}

void HttpEngine::on_conn_sent(ServerConn& c, int res) noexcept {
    if (c.tls.active()) {
        on_conn_tls_sent(c, res);
        return;
    }
    --c.inflight;
    c.send_inflight = false;
    if (c.state == ConnState::closing) {
        release_conn_if_idle(c);
        return;
    }
    TcpSession* s = nullptr;
    HttpSession* h = owner_of(c, s);
    if (h == nullptr || h->conn != c.slot) {
        close_conn(c);
        return;
    }
    on_server_sent(*s, *h, c, res);
}

void HttpEngine::on_conn_completion(std::uint8_t op, std::uint32_t slot, std::uint32_t gen,
                                    const io_uring_cqe& cqe) noexcept {
    if (!conns_.live(slot, gen)) {
        if (cqe.flags & IORING_CQE_F_BUFFER) {
            rt_.worker_->buffers().taken();
            rt_.worker_->buffers().recycle(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
        }
        return;
    }
    ServerConn& c = conns_[slot];
    switch (op) {
    case kOpConnConnect: on_connected(c, cqe.res); break;
    case kOpConnRecv: on_conn_recv(c, cqe); break;
    case kOpConnSend: on_conn_sent(c, cqe.res); break;
    case kOpConnBorrow: on_conn_borrowed(c, cqe); break;
    case kOpConnCancel:
        --c.inflight;
        if (c.state == ConnState::closing) {
            release_conn_if_idle(c);
        } else if (c.state == ConnState::busy && !c.recv_armed) {
            TcpSession* s = nullptr;
            HttpSession* h = owner_of(c, s);
            if (h != nullptr && h->phase == HttpPhase::tunnel_wait) try_handoff(*s, *h);
        }
        break;
    default: break;
    }
}

void HttpEngine::on_conn_timer(ServerConn& c) noexcept {
    if (c.state == ConnState::connecting && c.tls.handshaking) {
        // timeout connect ran out during the TLS handshake: a connect timeout all the same.
        rt_.stats_.proxies[c.backend].timeouts.add();
        conn_tls_failed(c, "timeout during the handshake", health::ObserveEvent::l4_timeout);
    } else if (c.state == ConnState::connecting) {
        // timeout connect: cancel the connect; its completion (-ECANCELED) retries or gives up.
        rt_.stats_.proxies[c.backend].timeouts.add();
        io_uring_sqe* sqe = rt_.worker_->ring().sqe();
        io_uring_prep_cancel64(sqe, conn_udata(c, kOpConnConnect), 0);
        io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnCancel));
        ++c.inflight;
    } else if (c.state == ConnState::pooled) {
        close_conn(c);   // idle too long
    }
}

// ---------------------------------------------------------------------------------------------
// The idle pools: per worker, per server, most recently used first (its server has most
// likely kept it open).

void HttpEngine::pool_conn(ServerConn& c) noexcept {
    // More idle connections than client sessions could never all be used at once: beyond that
    // (plus some slack) a connection is closed instead of kept, so single-request clients under
    // http-reuse safe do not pile up idle descriptors for pool-purge-delay.
    if (stopping_ || idle_total_ >= sessions_.in_use() + kIdleSlack || (c.tls.active() && c.tls.backlog())) {
        close_conn(c);
        return;
    }
    if (c.tls.active()) {   // an idle connection holds no buffer
        c.tls.release_spare(rt_.worker_->buffers());
        c.tls.conn.trim();
    }
    ++idle_total_;
    c.state = ConnState::pooled;
    c.owner = kNoSlot;
    std::uint32_t& head = idle_head(c.backend, c.server);
    c.prev = kNoSlot;
    c.next = head;
    if (head != kNoSlot) conns_[head].prev = c.slot;
    head = c.slot;
    rt_.worker_->timers().arm(c.timer.node, rt_.worker_->now() + kPoolIdleMs);
}

ServerConn* HttpEngine::take_idle(int backend, int server, bool proven_only) noexcept {
    for (std::uint32_t i = idle_head(backend, server); i != kNoSlot; i = conns_[i].next) {
        ServerConn& c = conns_[i];
        if (c.eof || c.failed || !c.in.empty() || (c.tls.active() && c.tls.backlog())) continue;
        if (proven_only && c.uses < 2) continue;
        unlink_idle(c);
        rt_.worker_->timers().cancel(c.timer.node);
        return &c;
    }
    return nullptr;
}

void HttpEngine::unlink_idle(ServerConn& c) noexcept {
    --idle_total_;
    std::uint32_t& head = idle_head(c.backend, c.server);
    if (c.prev != kNoSlot) conns_[c.prev].next = c.next;
    else head = c.next;
    if (c.next != kNoSlot) conns_[c.next].prev = c.prev;
    c.prev = c.next = kNoSlot;
}

void HttpEngine::close_conn(ServerConn& c) noexcept {
    if (c.state == ConnState::closing || c.state == ConnState::free) return;
    if (c.state == ConnState::pooled) unlink_idle(c);
    if (c.state == ConnState::owned_idle && c.owner != kNoSlot) {
        HttpSession& h = sessions_[c.owner];
        if (h.own_conn == c.slot) h.own_conn = kNoSlot;
    }
    c.state = ConnState::closing;
    c.owner = kNoSlot;
    rt_.worker_->timers().cancel(c.timer.node);
    if (c.fd >= 0 && c.inflight != 0) {
        // shutdown also ends the operations a kernel without IORING_ASYNC_CANCEL_FD keeps.
        ::shutdown(c.fd, SHUT_RDWR);
        io_uring_sqe* sqe = rt_.worker_->ring().sqe();
        io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnCancel));
        ++c.inflight;
    }
    release_conn_if_idle(c);
}

void HttpEngine::release_conn_if_idle(ServerConn& c) noexcept {
    if (c.inflight != 0 || c.state != ConnState::closing) return;
    c.in.clear(rt_.worker_->buffers());
    c.tls.release(rt_.worker_->buffers());   // the TLS connection and its buffers (nothing if plain)
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = ConnState::free;
    conns_.release(c.slot);
}

void HttpEngine::after_batch() noexcept {
    if (starved_conns_.empty() || rt_.worker_->buffers().available() <= rt_.worker_->buffers().count() / 4) return;
    for (std::uint32_t slot : starved_conns_) {
        ServerConn& c = conns_[slot];
        if (c.state == ConnState::free || c.state == ConnState::closing || !c.starved) continue;
        c.starved = false;
        arm_conn_recv(c);
        if (c.tls.active() && !c.tls.handshaking && c.tls.backlog() && c.state == ConnState::busy) conn_tls_input(c);
    }
    starved_conns_.clear();
}

}  // namespace skjold::proxy
