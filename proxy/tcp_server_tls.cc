// WorkerRuntime, mode tcp: TLS to servers (`server ... ssl`). After the TCP connect (and the
// PROXY header, which goes out in clear before the handshake as HAProxy sends it), the session
// stays `connecting` while the handshake runs, bounded by `timeout connect`; a failed or timed
// out handshake is a connect error (retries, redispatch, observe). Then the relay runs as for
// a plain server: received ciphertext is decrypted into s2c.q (tls_stream.hh), and the bytes
// of c2s.q are encrypted before they are sent (kOpTlsSendServer). A FIN from the client
// becomes a close_notify, then the FIN.
#include <cerrno>
#include <cstring>
#include <sys/socket.h>


#include "core/log.hh"
#include "proxy/tls_server_side.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

namespace {

thread_local core::LogRateLimit tcp_tls_fail_log{1000, 1};

}  // namespace

TlsClientContext* WorkerRuntime::server_tls_context(int backend, int server) noexcept {
    const auto& sets = shared_.server_tls;
    if (index_ >= sets.size() || !sets[index_]) return nullptr;
    return sets[index_]->context(backend, server);
}

void WorkerRuntime::server_side_ready(TcpSession& s) noexcept {
    if (!s.srv_tls.active()) {
        start_relay(s);
        return;
    }
    TlsClientContext& ctx = *s.srv_tls.ctx;
    if (!s.srv_tls.conn.connect(ctx, TlsServerSide::sni(ctx))) {
        server_tls_failed(s, "out of memory", health::ObserveEvent::l4_error);
        return;
    }
    s.srv_tls.handshaking = true;
    std::int64_t ct = snap_.proxies[s.backend].timeouts.connect;
    if (ct >= 0) worker_->timers().arm(s.timer.node, worker_->now() + static_cast<std::uint64_t>(ct));
    arm_recv(s, false);
    drive_server_handshake(s);
}

void WorkerRuntime::drive_server_handshake(TcpSession& s) noexcept {
    TlsStatus st = s.srv_tls.handshake(worker_->buffers());
    server_tls_flush(s);
    if (st == TlsStatus::failed || st == TlsStatus::closed) {
        server_tls_failed(s, nullptr, health::ObserveEvent::l4_error);
        return;
    }
    if (st != TlsStatus::ok) return;
    s.srv_tls.handshaking = false;
    worker_->timers().cancel(s.timer.node);
    if (shared_.observer) shared_.observer->report(index_, s.backend, s.server, health::ObserveEvent::l4_ok);
    start_relay(s);
    if (!s.aborting && s.srv_tls.backlog()) server_tls_input(s);
}

// Counted and logged as a connect error; the retry waits until no operation on the socket is
// left (a late completion must not meet the next connection's socket under the same slot).
void WorkerRuntime::server_tls_failed(TcpSession& s, const char* why, health::ObserveEvent ev) noexcept {
    worker_->timers().cancel(s.timer.node);
    const auto& be = snap_.proxies[s.backend];
    stats_.servers[s.backend][s.server].conn_errors.add();
    stats_.proxies[s.backend].conn_errors.add();
    if (auto a = tcp_tls_fail_log.admit(worker_->now()))
        SKJOLD_LOG(warning, "server {}/{}: TLS handshake failed: {} ({}) ({} more since the last such line)", be.name,
                   be.servers[s.server].name, s.srv_tls.failure_reason(why), tls_error_name(s.srv_tls.conn.error()),
                   a.suppressed);
    if (shared_.observer) shared_.observer->report(index_, s.backend, s.server, ev);
    s.srv_tls.handshaking = false;
    s.srv_tls.failing = true;
    if (s.sfd >= 0) ::shutdown(s.sfd, SHUT_RDWR);   // ends the receive (and any send) in flight
    finish_server_tls_failure(s);
}

void WorkerRuntime::finish_server_tls_failure(TcpSession& s) noexcept {
    if (!s.srv_tls.failing || s.s2c.recv_armed || s.srv_tls.send_inflight || s.srv_tls.borrow_inflight) return;
    auto& br = worker_->buffers();
    s.srv_tls.release(br);
    s.s2c.q.clear(br);
    s.s2c = Direction{};
    connect_failed(s);   // closes the socket; retry, redispatch or give up as for a refused connect
}

void WorkerRuntime::on_server_tls_recv(TcpSession& s, const io_uring_cqe& cqe) noexcept {
    Direction& d = s.s2c;
    auto& br = worker_->buffers();
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
        d.recv_armed = false;
        --s.inflight;
    }
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        br.taken();
        if (cqe.res <= 0 || s.aborting || s.srv_tls.failing) br.recycle(bid);
        else s.srv_tls.on_cipher(br, bid, static_cast<std::uint32_t>(cqe.res));
    }
    if (s.aborting) {
        release_if_idle(s);
        return;
    }
    if (s.srv_tls.failing) {
        finish_server_tls_failure(s);
        return;
    }
    if (cqe.res > 0) s.last_activity = worker_->now();
    if (cqe.res == -ENOBUFS) {
        if (s.srv_tls.handshaking) {
            arm_recv(s, false);   // a handshake is short: try again at once
            return;
        }
        d.starved = true;
        starved_.push_back(s.slot);
        server_tls_input(s);
        return;
    }
    if (cqe.res == -ECANCELED) {   // backpressure ended the receive
        if (!s.srv_tls.handshaking) server_tls_input(s);
        if (!s.aborting) arm_recv(s, false);
        return;
    }
    if (cqe.res < 0) {
        if (s.srv_tls.handshaking) {
            server_tls_failed(s, std::strerror(-cqe.res), health::ObserveEvent::l4_error);
            return;
        }
        set_term(s, 'S', 'D');
        abort_session(s);
        return;
    }
    if (cqe.res == 0) s.srv_tls.eof = true;
    if (s.srv_tls.handshaking) {
        drive_server_handshake(s);
        if (!s.aborting && s.srv_tls.handshaking && !more) arm_recv(s, false);
        return;
    }
    server_tls_input(s);
    if (!s.aborting && !more) arm_recv(s, false);
}

void WorkerRuntime::server_tls_input(TcpSession& s) noexcept {
    Direction& d = s.s2c;
    std::uint32_t produced = 0;
    TlsStream::Pull p = s.srv_tls.pull(worker_->buffers(), d.q, kHighWater, produced);
    if (produced > 0) {   // counted as the plain relay counts them: the bytes the client gets
        stats_.proxies[s.frontend].bytes_out.add(produced);
        s.bytes_out += produced;
    }
    server_tls_flush(s);
    if (p == TlsStream::Pull::failed) {
        set_term(s, 'S', 'D');
        abort_session(s);
        return;
    }
    if (p == TlsStream::Pull::need_buffer) server_tls_borrow(s);
    if (p == TlsStream::Pull::closed || (s.srv_tls.eof && !s.srv_tls.backlog() && p != TlsStream::Pull::need_buffer))
        d.eof = true;   // the server's end of stream, after everything it sent before
    if (produced > 0) kick_send(s, false);
    if (d.recv_armed && !d.cancel_sent && d.q.bytes + s.srv_tls.held() >= kHighWater) {
        cancel_op(s, kOpRecvServer);
        d.cancel_sent = true;
    }
    if (d.eof) maybe_finish(s);
}

void WorkerRuntime::server_tls_flush(TcpSession& s) noexcept {
    if (s.srv_tls.send_inflight || s.sfd < 0 || s.aborting) return;
    auto out = s.srv_tls.conn.pending_output();
    if (out.empty()) return;
    io_uring_sqe* sqe = worker_->ring().sqe();
    io_uring_prep_send(sqe, s.sfd, out.data(), out.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, udata(s, kOpTlsSendServer));
    ++s.inflight;
    s.srv_tls.send_inflight = true;
}

// kick_send toward the server: the head buffer of c2s.q is encrypted; on_send(s, true, n)
// follows once its records have gone out.
void WorkerRuntime::server_tls_send(TcpSession& s) noexcept {
    Direction& d = s.c2s;
    auto& br = worker_->buffers();
    const auto& m = br.meta(d.q.head);
    TlsIo r = s.srv_tls.conn.write({br.data(d.q.head) + m.off, m.len - m.off});
    d.send_inflight = true;
    s.srv_tls.report_send = true;
    s.srv_tls.plain_taken = static_cast<std::uint32_t>(r.bytes);
    if (r.status == TlsStatus::failed || r.status == TlsStatus::closed) s.srv_tls.plain_taken = 0;
    if (s.srv_tls.plain_taken == 0 && !s.srv_tls.send_inflight) {
        // Nothing to send: the completion comes through the ring all the same, as an error.
        io_uring_sqe* sqe = worker_->ring().sqe();
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, udata(s, kOpTlsSendServer));
        ++s.inflight;
        s.srv_tls.send_inflight = true;
        return;
    }
    server_tls_flush(s);
}

void WorkerRuntime::on_server_tls_sent(TcpSession& s, int res) noexcept {
    TlsStream& t = s.srv_tls;
    t.send_inflight = false;
    const bool report = t.report_send;
    auto finish = [&](int r) {   // this completion's inflight count, through on_send when it reports
        if (report) {
            t.report_send = false;
            on_send(s, true, r);
        } else {
            --s.inflight;
            if (s.aborting || s.state == TcpState::closing) release_if_idle(s);
        }
    };
    if (s.aborting) {
        finish(res);
        return;
    }
    if (t.failing) {
        t.report_send = false;
        --s.inflight;
        finish_server_tls_failure(s);
        return;
    }
    if (res > 0) {
        t.conn.consume_output(static_cast<std::size_t>(res));
        if (!t.conn.pending_output().empty()) {
            server_tls_flush(s);
            --s.inflight;
            return;
        }
    }
    if (res <= 0 || (report && t.plain_taken == 0)) {
        if (t.handshaking) {
            --s.inflight;
            t.report_send = false;
            server_tls_failed(s, res < 0 ? std::strerror(-res) : "send failed", health::ObserveEvent::l4_error);
            return;
        }
        if (report) {
            finish(res < 0 ? res : -EPIPE);   // on_send aborts the session
            return;
        }
        --s.inflight;
        set_term(s, 'S', 'D');
        abort_session(s);
        return;
    }
    if (t.fin_after_output) {
        t.fin_after_output = false;
        ::shutdown(s.sfd, SHUT_WR);
    }
    int taken = static_cast<int>(t.plain_taken);
    t.plain_taken = 0;
    finish(report ? taken : res);
}

void WorkerRuntime::server_tls_borrow(TcpSession& s) noexcept {
    if (s.srv_tls.borrow_inflight || s.aborting || !TlsStream::can_borrow()) return;
    io_uring_sqe* sqe = worker_->ring().sqe();
    TlsStream::prep_borrow(sqe, worker_->buffers().group());
    io_uring_sqe_set_data64(sqe, udata(s, kOpTlsBorrowServer));
    ++s.inflight;
    s.srv_tls.borrow_inflight = true;
}

void WorkerRuntime::on_server_tls_borrowed(TcpSession& s, const io_uring_cqe& cqe) noexcept {
    --s.inflight;
    s.srv_tls.borrow_inflight = false;
    auto& br = worker_->buffers();
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        br.taken();
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        if (s.aborting || s.srv_tls.failing || !s.srv_tls.active()) br.recycle(bid);
        else s.srv_tls.on_borrowed(br, bid);
    }
    if (s.aborting || s.state == TcpState::closing) {
        release_if_idle(s);
        return;
    }
    if (s.srv_tls.failing) {
        finish_server_tls_failure(s);
        return;
    }
    if (cqe.res == -ENOBUFS) {
        s.s2c.starved = true;   // after_batch re-arms, and arm_recv borrows again
        starved_.push_back(s.slot);
        return;
    }
    if (s.state == TcpState::relaying && s.srv_tls.backlog()) server_tls_input(s);
}

// The client's FIN, toward a TLS server: close_notify first, then the FIN once it is sent.
void WorkerRuntime::shutdown_server_write(TcpSession& s) noexcept {
    if (!s.srv_tls.active() || !s.srv_tls.conn.handshake_done()) {
        ::shutdown(s.sfd, SHUT_WR);
        return;
    }
    s.srv_tls.conn.shutdown();
    if (s.srv_tls.conn.pending_output().empty() && !s.srv_tls.send_inflight) {
        ::shutdown(s.sfd, SHUT_WR);
        return;
    }
    s.srv_tls.fin_after_output = true;
    server_tls_flush(s);
}

}  // namespace skjold::proxy
