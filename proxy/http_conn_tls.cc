// HttpEngine, TLS to servers (`server ... ssl`): the handshake after the TCP connect (bounded
// by `timeout connect`, a failure counts as a connect error: retry, redispatch, 503), the
// receive path that decrypts into the connection's `in` queue, and sends that encrypt the
// engine's plaintext. A pooled connection keeps its TLS session; new connections resume the
// server's last session (TlsClientContext).
#include <cerrno>
#include <cstring>

#include "core/log.hh"
#include "core/rate_limit.hh"
#include "proxy/http_session.hh"
#include "proxy/tls_server_side.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

namespace {

// "TLS handshake with server failed" lines: one a second per worker, with the count dropped.
thread_local core::LogRateLimit http_tls_fail_log{1000, 1};

}  // namespace

TlsClientContext* HttpEngine::server_tls_context(int backend, int server) noexcept {
    const auto& sets = rt_.shared_.server_tls;
    if (rt_.index_ >= sets.size() || !sets[rt_.index_]) return nullptr;
    return sets[rt_.index_]->context(backend, server);
}

void HttpEngine::start_conn_tls(ServerConn& c) noexcept {
    TlsClientContext& ctx = *c.tls.ctx;
    if (!c.tls.conn.connect(ctx, TlsServerSide::sni(ctx))) {
        conn_tls_failed(c, "out of memory", health::ObserveEvent::l4_error);
        return;
    }
    c.tls.handshaking = true;
    // The handshake is part of connecting: `timeout connect` bounds it too.
    std::int64_t ct = rt_.snap_.proxies[c.backend].timeouts.connect;
    if (ct >= 0) rt_.worker_->timers().arm(c.timer.node, rt_.worker_->now() + static_cast<std::uint64_t>(ct));
    arm_conn_recv(c);
    drive_conn_handshake(c);
}

void HttpEngine::drive_conn_handshake(ServerConn& c) noexcept {
    auto& br = rt_.worker_->buffers();
    TlsStatus st = c.tls.handshake(br);
    conn_tls_flush(c);
    if (st == TlsStatus::failed || st == TlsStatus::closed) {
        conn_tls_failed(c, nullptr, health::ObserveEvent::l4_error);
        return;
    }
    if (st != TlsStatus::ok) return;
    c.tls.handshaking = false;
    rt_.worker_->timers().cancel(c.timer.node);
    TcpSession* s = nullptr;
    HttpSession* h = owner_of(c, s);
    if (h == nullptr) {
        close_conn(c);
        return;
    }
    observe(c.backend, c.server, health::ObserveEvent::l4_ok);
    conn_ready(c, *s, *h);
    // Records behind the Finished message (a TLS 1.3 ticket, or early response bytes).
    if (c.state == ConnState::busy && c.tls.backlog()) conn_tls_input(c);
}

// The handshake failed or timed out (`why` null: OpenSSL's reason): as a failed connect.
void HttpEngine::conn_tls_failed(ServerConn& c, const char* why, health::ObserveEvent ev) noexcept {
    rt_.worker_->timers().cancel(c.timer.node);
    const auto& be = rt_.snap_.proxies[c.backend];
    rt_.stats_.servers[c.backend][c.server].conn_errors.add();
    rt_.stats_.proxies[c.backend].conn_errors.add();
    if (auto a = http_tls_fail_log.admit(rt_.worker_->now()))
        SKJOLD_LOG(warning, "server {}/{}: TLS handshake failed: {} ({}) ({} more since the last such line)", be.name,
                   be.servers[c.server].name, c.tls.failure_reason(why), tls_error_name(c.tls.conn.error()),
                   a.suppressed);
    TcpSession* s = nullptr;
    HttpSession* h = owner_of(c, s);
    if (h == nullptr) {
        close_conn(c);
        return;
    }
    observe(c.backend, c.server, ev);
    h->conn = kNoSlot;
    close_conn(c);
    connect_failed(*s, *h);
}

// Ciphertext received (res > 0, buffer queued in c.tls.cipher), or the FIN (res == 0).
void HttpEngine::on_conn_tls_recv(ServerConn& c, const io_uring_cqe& cqe, bool more) noexcept {
    if (cqe.res == 0) c.tls.eof = true;
    if (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
        c.failed = true;
        if (c.tls.handshaking) {
            conn_tls_failed(c, std::strerror(-cqe.res), health::ObserveEvent::l4_error);
            return;
        }
    }
    if (cqe.res == -ENOBUFS) {   // re-armed when buffers come back (after_batch)
        c.starved = true;
        starved_conns_.push_back(c.slot);
        if (!c.tls.handshaking) conn_tls_input(c);
        return;
    }
    if (c.tls.handshaking) {
        drive_conn_handshake(c);
        if (c.state == ConnState::connecting && !more && !c.tls.eof) arm_conn_recv(c);
        return;
    }
    conn_tls_input(c);
    if (c.state == ConnState::busy && !more) arm_conn_recv(c);
}

// Decrypts what is held back into c.in and hands it to the owner, as on_conn_recv does with
// plain bytes. An idle connection may receive records without plaintext (a TLS 1.3 ticket);
// plaintext nobody asked for, or the server closing, drops it.
void HttpEngine::conn_tls_input(ServerConn& c) noexcept {
    auto& br = rt_.worker_->buffers();
    std::uint32_t produced = 0;
    TlsStream::Pull p = c.tls.pull(br, c.in, kHighWater, produced);
    // bytes_in counts what the server sent as the stream carries it: the plaintext.
    if (produced > 0) rt_.stats_.servers[c.backend][c.server].bytes_in.add(produced);
    conn_tls_flush(c);   // a KeyUpdate answer, or an alert
    if (p == TlsStream::Pull::need_buffer) conn_borrow(c);
    else if (p == TlsStream::Pull::closed) c.eof = true;
    else if (p == TlsStream::Pull::failed) c.failed = true;
    if (c.tls.eof && !c.tls.backlog() && p != TlsStream::Pull::need_buffer) c.eof = true;
    TcpSession* s = nullptr;
    HttpSession* h = c.state == ConnState::busy ? owner_of(c, s) : nullptr;
    if (h == nullptr) {
        if (produced > 0 || c.eof || c.failed) close_conn(c);
        return;
    }
    if (produced > 0) h->last_server = rt_.worker_->now();
    if (c.recv_armed && !c.cancel_sent && c.in.bytes + c.tls.held() >= kHighWater) cancel_conn_recv(c);
    if (produced > 0 || c.eof || c.failed) pump(*s, *h);
}

// Sends the TLS output (handshake flights, records, alerts) unless a send is in flight.
void HttpEngine::conn_tls_flush(ServerConn& c) noexcept {
    if (c.tls.send_inflight || c.fd < 0 || c.state == ConnState::closing) return;
    auto out = c.tls.conn.pending_output();
    if (out.empty()) return;
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_send(sqe, c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnSend));
    ++c.inflight;
    c.tls.send_inflight = true;
    c.send_inflight = true;
}

// The engine's plaintext send: encrypted now (the bytes are copied into the TLS output), and
// answered once that output has gone out, with the plaintext count taken.
void HttpEngine::conn_tls_send(ServerConn& c, const char* data, std::uint32_t len) noexcept {
    TlsIo r = c.tls.conn.write({reinterpret_cast<const std::uint8_t*>(data), len});
    c.tls.plain_taken = static_cast<std::uint32_t>(r.bytes);
    c.tls.report_send = true;
    c.send_inflight = true;
    if (r.status == TlsStatus::failed || r.status == TlsStatus::closed || c.tls.conn.pending_output().empty()) {
        // Nothing to send: answer through the ring all the same (the engine expects a completion).
        if (r.status == TlsStatus::failed || r.status == TlsStatus::closed) c.tls.plain_taken = 0;
        io_uring_sqe* sqe = rt_.worker_->ring().sqe();
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnSend));
        ++c.inflight;
        c.tls.send_inflight = true;
        return;
    }
    conn_tls_flush(c);
}

void HttpEngine::on_conn_tls_sent(ServerConn& c, int res) noexcept {
    --c.inflight;
    c.tls.send_inflight = false;
    c.send_inflight = false;
    if (c.state == ConnState::closing) {
        release_conn_if_idle(c);
        return;
    }
    if (res > 0) c.tls.conn.consume_output(static_cast<std::size_t>(res));
    if (res > 0 && !c.tls.conn.pending_output().empty()) {
        conn_tls_flush(c);
        return;
    }
    if (res < 0) c.failed = true;
    if (c.tls.handshaking) {
        if (res < 0) conn_tls_failed(c, std::strerror(-res), health::ObserveEvent::l4_error);
        return;
    }
    if (!c.tls.report_send) {
        if (res < 0) {
            TcpSession* s = nullptr;
            HttpSession* h = c.state == ConnState::busy ? owner_of(c, s) : nullptr;
            if (h == nullptr) close_conn(c);
            else pump(*s, *h);
        }
        return;
    }
    c.tls.report_send = false;
    TcpSession* s = nullptr;
    HttpSession* h = owner_of(c, s);
    if (h == nullptr || h->conn != c.slot) {
        close_conn(c);
        return;
    }
    int taken = static_cast<int>(c.tls.plain_taken);
    c.tls.plain_taken = 0;
    on_server_sent(*s, *h, c, res < 0 ? res : (taken > 0 ? taken : -EPIPE));
}

// Plaintext waits inside OpenSSL and no buffer is free: take one from the ring (a one-byte
// read of /dev/zero with buffer selection; the byte is ignored).
void HttpEngine::conn_borrow(ServerConn& c) noexcept {
    if (c.tls.borrow_inflight || c.state == ConnState::closing || !TlsStream::can_borrow()) return;
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    TlsStream::prep_borrow(sqe, rt_.worker_->buffers().group());
    io_uring_sqe_set_data64(sqe, conn_udata(c, kOpConnBorrow));
    ++c.inflight;
    c.tls.borrow_inflight = true;
}

void HttpEngine::on_conn_borrowed(ServerConn& c, const io_uring_cqe& cqe) noexcept {
    --c.inflight;
    c.tls.borrow_inflight = false;
    auto& br = rt_.worker_->buffers();
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        br.taken();
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        if (c.state == ConnState::closing) br.recycle(bid);
        else c.tls.on_borrowed(br, bid);
    }
    if (c.state == ConnState::closing) {
        release_conn_if_idle(c);
        return;
    }
    if (cqe.res == -ENOBUFS) {   // the ring is dry: retried when buffers come back
        c.starved = true;
        starved_conns_.push_back(c.slot);
        return;
    }
    if (c.tls.backlog()) conn_tls_input(c);
}

}  // namespace skjold::proxy
