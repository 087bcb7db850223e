// WorkerRuntime, TLS termination (`bind ... ssl`): handshake, receive (ciphertext in, plaintext
// queued in place), send (plaintext encrypted, ciphertext sent, completion reported in
// plaintext bytes), close_notify, failures. The scheme is in tls_front.hh.
#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "core/log.hh"
#include "proxy/http_session.hh"
#include "proxy/session_fetch.hh"
#include "proxy/tls_context.hh"
#include "proxy/tls_runtime.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

TlsContext* WorkerRuntime::listener_tls(int li) noexcept {
    Listener& l = listeners_[static_cast<std::size_t>(li)];
    if (!l.tls_resolved) {
        l.tls_resolved = true;
        TlsWorker* w = shared_.tls ? shared_.tls->worker(index_) : nullptr;
        l.tls = w != nullptr && l.bind >= 0 ? w->bind(l.proxy, l.bind) : nullptr;
    }
    return l.tls;
}

void WorkerRuntime::start_client(TcpSession& s) noexcept {
    const Listener& l = listeners_[static_cast<std::size_t>(s.listener)];
    TlsContext* ctx = listener_tls(s.listener);
    if (ctx != nullptr) {
        tls_begin(s, *ctx);
        return;
    }
    // A `bind ... ssl` without contexts (never built): refuse rather than speak plaintext.
    if (l.bind >= 0 && snap_.proxies[static_cast<std::size_t>(l.proxy)].binds[static_cast<std::size_t>(l.bind)].ssl) {
        tls_failed(s, "no TLS context for this bind");
        return;
    }
    route_session(s);
}

void WorkerRuntime::tls_begin(TcpSession& s, TlsContext& ctx) noexcept {
    if (!tls_slots_.reserve(s.slot)) {
        stats_.sessions_refused.add();
        tls_failed(s, "out of memory");
        return;
    }
    TlsSlot& t = tls_slots_[s.slot];
    t.reset();
    if (!t.conn.accept(ctx)) {
        stats_.sessions_refused.add();
        tls_failed(s, "out of memory");
        return;
    }
    s.tls = &t.conn;
    s.state = TcpState::tls_handshake;
    // The handshake must finish within timeout client (counted from here: a slow client
    // cannot keep a half-done handshake, and its memory, for longer).
    const auto& px = snap_.proxies[static_cast<std::size_t>(s.frontend)];
    if (px.timeouts.client >= 0)
        worker_->timers().arm(s.timer.node, worker_->now() + static_cast<std::uint64_t>(px.timeouts.client));
    arm_recv(s, true);
    // Bytes that followed a PROXY header are already ciphertext: feed them first, in order.
    core::BufferQueue q = s.c2s.q;
    s.c2s.q = core::BufferQueue{};
    auto& br = worker_->buffers();
    for (std::uint16_t b = q.head; b != core::kNoBuffer;) {
        const auto m = br.meta(b);
        std::uint16_t next = m.next;
        if (s.aborting || m.len == m.off) br.recycle(b);
        else if (tls_input(s, b, m.off, m.len - m.off) < 0) {}   // aborted; the buffer is back
        b = next;
    }
    if (s.aborting) return;
    if (s.state == TcpState::tls_handshake && s.tls->handshake_done()) tls_established(s);
}

void WorkerRuntime::tls_established(TcpSession& s) noexcept {
    worker_->timers().cancel(s.timer.node);
    route_session(s);   // HTTP starts on the queued plaintext; tcp connects (plaintext waits)
}

// A failed handshake (or no TLS state): counted (TlsConn counts its failures in the context's
// TlsStats), logged at most once a second per worker, closed at once. Nothing stays: close()
// frees the SSL object and the output buffer when the slot is released.
void WorkerRuntime::tls_failed(TcpSession& s, const char* why) noexcept {
    TlsContext* ctx = listener_tls(s.listener);
    if (s.tls != nullptr) {
        // The alert OpenSSL wrote (protocol_version, handshake_failure ...), best effort and
        // without waiting: a few bytes on a socket nobody else writes to.
        auto out = s.tls->pending_output();
        if (!out.empty()) (void)::send(s.cfd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (why == nullptr) why = tls_error_name(s.tls->error());
    }
    if (auto a = tls_fail_log_.admit(worker_->now())) {
        know_address(s, true);
        const char* reason = s.tls != nullptr ? s.tls->error_reason() : "";
        std::uint64_t failed = ctx != nullptr ? ctx->stats().failed.read() : 0;
        SKJOLD_LOG(warning,
                   "frontend {}: TLS handshake with {} failed: {}{}{} ({} failed on this worker so far, {} more since "
                   "the last such line)",
                   snap_.proxies[static_cast<std::size_t>(s.frontend)].name,
                   s.src_known ? s.src.to_string() : std::string("-"), why != nullptr ? why : "?",
                   *reason != '\0' ? ": " : "", reason, failed, a.suppressed);
    }
    set_term(s, 'C', 'R');
    s.no_log = true;   // no request was made (HAProxy logs these only with `option log-separate-errors`)
    abort_session(s);
}

// ---------------------------------------------------------------------------------------------
// Receive

bool WorkerRuntime::tls_on_recv(TcpSession& s, io_uring_cqe& cqe) noexcept {
    Direction& d = s.c2s;
    TlsSlot& t = tls_slots_[s.slot];
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    // on_recv's own bookkeeping, for the completions that do not reach it.
    auto done = [&] {
        if (!more) {
            d.recv_armed = false;
            --s.inflight;
        }
        if (s.aborting) release_if_idle(s);
        else if (!more) arm_recv(s, true);
        return false;
    };
    if ((cqe.flags & IORING_CQE_F_BUFFER) && cqe.res > 0 && !s.aborting) {
        auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        worker_->buffers().taken();
        cqe.flags &= ~IORING_CQE_F_BUFFER;
        s.last_activity = worker_->now();
        const bool handshaking = s.state == TcpState::tls_handshake;
        int n = tls_input(s, bid, 0, static_cast<std::uint32_t>(cqe.res));
        if (n < 0 || s.aborting) return done();
        if (handshaking) {
            if (s.tls->handshake_done()) {
                done();
                if (!s.aborting) tls_established(s);
                return false;
            }
            return done();
        }
        if (n == 0) {
            if (t.peer_closed && !d.eof) {   // close_notify: the client's EOF for the code below
                cqe.res = 0;
                return true;
            }
            return done();
        }
        cqe.res = n;
        return true;
    }
    if (cqe.res == 0 && s.state == TcpState::tls_handshake && !s.aborting) {
        // EOF in the middle of the handshake (a truncated ClientHello, a port scan).
        if (cqe.flags & IORING_CQE_F_BUFFER) {
            worker_->buffers().taken();
            worker_->buffers().recycle(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
        }
        s.tls->feed_eof();
        s.tls->handshake();
        if (!more) {
            d.recv_armed = false;
            --s.inflight;
        }
        tls_failed(s, nullptr);
        return false;
    }
    return true;   // errors, ENOBUFS, cancels, EOF after the handshake: as on a plain socket
}

int WorkerRuntime::tls_input(TcpSession& s, std::uint16_t bid, std::uint32_t off, std::uint32_t len) noexcept {
    TlsSlot& t = tls_slots_[s.slot];
    TlsConn& c = t.conn;
    auto& br = worker_->buffers();
    bool held = false;   // the tickets wait for the response (see below)
    std::uint8_t* base = br.data(bid);
    const std::uint32_t cap = br.size();
    c.feed({base + off, len});
    if (!c.handshake_done()) {
        TlsStatus st = c.handshake();
        if (st == TlsStatus::failed || st == TlsStatus::closed || st == TlsStatus::want_output) {
            c.release_input();
            br.recycle(bid);
            tls_failed(s, st == TlsStatus::want_output ? "handshake output larger than the TLS output buffer" : nullptr);
            return -1;
        }
        // TLS 1.3: what OpenSSL writes after the client's Finished is the session tickets. With
        // the request right behind that Finished (the usual case), they wait in the output and
        // leave with the first response, one send instead of two; otherwise they go now.
        held = c.handshake_done() && c.input_unread() > 0 && SSL_version(c.ssl()) == TLS1_3_VERSION;
        if (!held) tls_pump(s);   // the server's flight (or the tickets after it)
        if (!c.handshake_done()) {
            c.release_input();
            br.recycle(bid);
            return 0;
        }
    }
    // Application data. Plaintext goes into the held buffer's free room first, then into B's
    // bytes OpenSSL has taken: [0, off + taken) while some of B is unread, all of B after.
    int queued = 0;
    std::uint32_t w = 0;
    auto limit = [&]() -> std::uint32_t {
        return c.input_unread() == 0 ? cap : off + (len - static_cast<std::uint32_t>(c.input_unread()));
    };
    bool failed = false;
    // Bounded: each round moves at least one byte or ends (a buffer holds at most `cap`).
    for (std::uint32_t round = 0; round < 2 * cap + 16; ++round) {
        TlsIo r;
        if (t.hold != core::kNoBuffer && t.hold_len < cap) {
            r = c.read({br.data(t.hold) + t.hold_len, cap - t.hold_len});
            t.hold_len += static_cast<std::uint32_t>(r.bytes);
        } else {
            if (t.hold != core::kNoBuffer) {   // full: it goes to the session
                s.c2s.q.push(br, t.hold, t.hold_len);
                queued += static_cast<int>(t.hold_len);
                t.hold = core::kNoBuffer;
                t.hold_len = 0;
            }
            std::uint32_t lim = limit();
            if (w < lim) {
                r = c.read({base + w, lim - w});
                w += static_cast<std::uint32_t>(r.bytes);
            } else {
                // Nothing taken beyond what was written: one byte makes OpenSSL take the next
                // record; its plaintext then fits in the record's own bytes.
                if (SSL_pending(c.ssl()) > 0) {
                    failed = true;   // cannot happen (plaintext <= ciphertext); never overwrite
                    break;
                }
                std::uint8_t one = 0;
                r = c.read({&one, 1});
                if (r.bytes == 1) {
                    if (w >= limit()) {
                        failed = true;
                        break;
                    }
                    base[w++] = one;
                }
            }
        }
        if (r.status == TlsStatus::ok) continue;
        if (r.status == TlsStatus::want_input) break;
        if (r.status == TlsStatus::closed) {
            t.peer_closed = true;
            break;
        }
        failed = true;   // failed, or want_output (a post-handshake reply with the output full)
        break;
    }
    c.release_input();
    // Anything OpenSSL wrote while reading (a KeyUpdate reply), and held tickets when no
    // request came with them after all.
    const bool plaintext = queued > 0 || w > 0 || (t.hold != core::kNoBuffer && t.hold_len > 0);
    if (!held || failed || !plaintext) tls_pump(s);
    if (failed) {
        br.recycle(bid);
        SKJOLD_LOG(debug, "frontend {}: TLS read failed: {}", snap_.proxies[static_cast<std::size_t>(s.frontend)].name,
                   c.error_reason());
        set_term(s, 'C', 'D');
        abort_session(s);
        return -1;
    }
    // A record cut by the end of the input waits inside OpenSSL: keep the buffer with the
    // plaintext before it as room for that record's plaintext; otherwise queue everything.
    const bool cut = !t.peer_closed && SSL_has_pending(c.ssl()) == 1;
    if (t.hold != core::kNoBuffer) {
        // Room remained in the held buffer, so B received nothing.
        br.recycle(bid);
        if (!cut) {
            if (t.hold_len > 0) s.c2s.q.push(br, t.hold, t.hold_len);
            else br.recycle(t.hold);
            queued += static_cast<int>(t.hold_len);
            t.hold = core::kNoBuffer;
            t.hold_len = 0;
        }
    } else if (cut) {
        t.hold = bid;
        t.hold_len = w;
    } else if (w > 0) {
        s.c2s.q.push(br, bid, w);
        queued += static_cast<int>(w);
    } else {
        br.recycle(bid);
    }
    return queued;
}

// ---------------------------------------------------------------------------------------------
// Send

void WorkerRuntime::tls_send(TcpSession& s, const void* data, std::uint32_t len) noexcept {
    TlsSlot& t = tls_slots_[s.slot];
    ++s.inflight;   // the session's send; released by client_send_done()
    t.wr_active = true;
    t.wr_failed = false;
    t.wr_data = static_cast<const std::uint8_t*>(data);
    t.wr_len = len;
    t.wr_taken = 0;
    tls_pump(s);
}

void WorkerRuntime::tls_pump(TcpSession& s) noexcept {
    TlsSlot& t = tls_slots_[s.slot];
    TlsConn& c = t.conn;
    if (t.out_inflight) return;
    if (t.wr_active && t.wr_taken == 0 && !t.wr_failed && c.output_room() > kTlsRecordSlack && !s.aborting) {
        // One record per send, sized to fit whole behind what the output holds (the session
        // tickets held for the first response): no record is ever split between two write()
        // calls.
        std::uint32_t n = std::min({t.wr_len, kTlsRecordPlain, c.output_room() - kTlsRecordSlack});
        TlsIo r = c.write({t.wr_data, n});
        t.wr_taken = static_cast<std::uint32_t>(r.bytes);
        if (r.bytes == 0) {
            // Failed: report it through a completion, never from inside the caller's send.
            t.wr_failed = true;
            io_uring_sqe* sqe = worker_->ring().sqe();
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, udata(s, kOpTlsSendClient));
            ++s.inflight;
            t.out_inflight = true;
            return;
        }
    }
    auto out = c.pending_output();
    if (!out.empty() && !s.aborting) {
        io_uring_sqe* sqe = worker_->ring().sqe();
        io_uring_prep_send(sqe, s.cfd, out.data(), out.size(), MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, udata(s, kOpTlsSendClient));
        ++s.inflight;
        t.out_inflight = true;
        return;
    }
    if (t.wr_active && t.wr_taken > 0) {
        std::uint32_t n = t.wr_taken;
        t.wr_active = false;
        t.wr_taken = 0;
        client_send_done(s, static_cast<int>(n));
        return;
    }
    if (t.fin_after_output && !s.aborting) {
        t.fin_after_output = false;
        ::shutdown(s.cfd, SHUT_WR);
    }
}

void WorkerRuntime::on_tls_sent(TcpSession& s, int res) noexcept {
    TlsSlot& t = tls_slots_[s.slot];
    --s.inflight;
    t.out_inflight = false;
    const bool failed = t.wr_failed;
    if (s.aborting || res < 0 || (res == 0 && !failed) || failed) {
        if (t.wr_active) {
            t.wr_active = t.wr_failed = false;
            t.wr_taken = 0;
            client_send_done(s, s.aborting ? -ECANCELED : res < 0 ? res : -EIO);
        } else if (s.aborting) {
            release_if_idle(s);
        } else {
            set_term(s, 'C', 'D');
            abort_session(s);
        }
        return;
    }
    s.tls->consume_output(static_cast<std::size_t>(res));
    tls_pump(s);
    if (s.state == TcpState::closing) release_if_idle(s);   // the relay closed after a close_notify
}

// The session's send is complete (or failed): the handler its plain send would have reached.
void WorkerRuntime::client_send_done(TcpSession& s, int res) noexcept {
    if (s.state == TcpState::http) http_->on_client_sent(s, res);
    else on_send(s, false, res);
}

void WorkerRuntime::shutdown_client_write(TcpSession& s) noexcept {
    if (s.tls == nullptr) {
        ::shutdown(s.cfd, SHUT_WR);
        return;
    }
    TlsSlot& t = tls_slots_[s.slot];
    s.tls->shutdown();   // close_notify into the output (nothing before the handshake ended)
    t.fin_after_output = true;
    tls_pump(s);
}

void WorkerRuntime::tls_release(TcpSession& s) noexcept {
    TlsSlot& t = tls_slots_[s.slot];
    if (t.hold != core::kNoBuffer) worker_->buffers().recycle(t.hold);
    t.reset();
    t.conn.close();
    s.tls = nullptr;
}

}  // namespace skjold::proxy
