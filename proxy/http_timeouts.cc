// HttpEngine, session lifetime: timeouts (http-request, http-keep-alive, client, server),
// closing a client connection (lingering after the last response), aborts, release, stop.
#include <sys/socket.h>

#include "proxy/http_session.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

// ---------------------------------------------------------------------------------------------
// Timeouts

void HttpEngine::arm_timer(TcpSession& s, HttpSession& h) noexcept {
    const auto& fe = rt_.snap_.proxies[s.frontend];
    const auto& to = fe.timeouts;
    std::int64_t t = -1;
    std::uint64_t base = 0;
    switch (h.phase) {
    case HttpPhase::idle:
        if (h.requests == 0) {
            t = to.http_request >= 0 ? to.http_request : to.client;
            base = h.t_accept;
        } else {
            // HAProxy: http-keep-alive, else http-request, else client.
            t = to.http_keep_alive >= 0 ? to.http_keep_alive : (to.http_request >= 0 ? to.http_request : to.client);
            // Retired by a reload: an idle client goes after a short grace (HttpEngine::stop).
            if (stopping_ && graceful_idle_) t = min_set(t, static_cast<std::int64_t>(kRetireIdleGraceMs));
            base = h.t_idle;
        }
        break;
    case HttpPhase::head:
        t = to.http_request >= 0 ? to.http_request : to.client;
        base = h.requests == 0 ? h.t_accept : h.t_start;
        break;
    case HttpPhase::connecting:
        if (s.queue.queued) {      // waiting for a server slot (worker_queue.cc)
            t = rt_.queue_timeout(s.backend);
            base = s.queue.since;
        } else if (h.conn == kNoSlot) {   // waiting before a retry on the same server
            t = min_set(rt_.snap_.proxies[s.backend].timeouts.connect, 1000);
            base = rt_.worker_->now();
        }
        break;
    case HttpPhase::exchange: {
        const std::int64_t srv = s.backend >= 0 ? rt_.snap_.proxies[s.backend].timeouts.server : -1;
        t = min_set(srv, to.client);
        base = std::min(h.last_server, h.last_client);
        if (base == 0) base = rt_.worker_->now();
        break;
    }
    case HttpPhase::local_reply:
        t = to.client;
        base = h.last_client ? h.last_client : rt_.worker_->now();
        break;
    case HttpPhase::draining:
        // Lingering after the last response: bounded, so a client that never closes goes
        // (shorter once stopping, so a graceful stop is not held up by it).
        t = min_set(to.client, stopping_ ? 500 : 5000);
        base = rt_.worker_->now();
        break;
    case HttpPhase::tunnel_wait: break;
    }
    if (t < 0) rt_.worker_->timers().cancel(s.timer.node);
    else rt_.worker_->timers().arm(s.timer.node, base + static_cast<std::uint64_t>(t));
}

void HttpEngine::on_timer(TcpSession& s) noexcept {
    HttpSession& h = hs(s);
    const auto& fe = rt_.snap_.proxies[s.frontend];
    const std::uint64_t now = rt_.worker_->now();
    auto& fc = rt_.stats_.proxies[s.frontend];
    switch (h.phase) {
    case HttpPhase::idle:
        if (h.requests != 0) {
            rt_.abort_session(s);   // keep-alive expired: closed quietly, as HAProxy
            return;
        }
        [[fallthrough]];
    case HttpPhase::head:
        // timeout http-request (slowloris): 408, as HAProxy.
        fc.failed_req.add();
        fc.timeouts.add();
        if (h.phase == HttpPhase::idle) h.date_us = log_wall_clock_us();
        h.req.reset(nullptr, 0);
        h.client_close = true;
        reply_error(s, h, 408, TermCause::client_timeout, TermPhase::request);
        return;
    case HttpPhase::connecting:
        if (s.queue.queued) {      // timeout queue: 503, termination state sQ
            rt_.dequeue(s);
            queue_failed(s, true);
            return;
        }
        if (h.conn == kNoSlot) use_server(s, h, h.retry_server, true);   // the retry delay is over
        return;
    case HttpPhase::exchange: {
        const std::int64_t srv_to = rt_.snap_.proxies[s.backend].timeouts.server;
        const std::int64_t cli_to = fe.timeouts.client;
        const bool server_late = srv_to >= 0 && !h.res_parsed && now - h.last_server >= static_cast<std::uint64_t>(srv_to);
        // The client is waited for while its body comes in or while it does not read.
        const bool client_wait = !h.req_parsed || h.client_send_inflight;
        const bool client_late = cli_to >= 0 && client_wait && now - h.last_client >= static_cast<std::uint64_t>(cli_to);
        if (server_late) {
            fc.timeouts.add();
            rt_.stats_.proxies[s.backend].timeouts.add();
            if (!h.res_head_done) {
                observe(s.backend, s.server, health::ObserveEvent::http_read_timeout);
                rt_.stats_.proxies[s.backend].failed_resp.add();
                reply_error(s, h, 504, TermCause::server_timeout, TermPhase::headers);
            } else {
                rt_.stats_.proxies[s.backend].srv_abrt.add();
                abort(s, h, TermCause::server_timeout, TermPhase::data);
            }
            return;
        }
        if (client_late) {
            fc.timeouts.add();
            rt_.stats_.proxies[s.backend].cli_abrt.add();
            abort(s, h, TermCause::client_timeout, TermPhase::data);
            return;
        }
        // Activity since the timer was armed: wait for the next deadline.
        std::uint64_t next = ~std::uint64_t{0};
        if (srv_to >= 0 && !h.res_parsed) next = h.last_server + static_cast<std::uint64_t>(srv_to);
        if (cli_to >= 0) next = std::min(next, h.last_client + static_cast<std::uint64_t>(cli_to));
        if (next != ~std::uint64_t{0}) rt_.worker_->timers().arm(s.timer.node, std::max(next, now + 1));
        return;
    }
    case HttpPhase::local_reply:
        if (fe.timeouts.client >= 0 && now - h.last_client < static_cast<std::uint64_t>(fe.timeouts.client)) {
            rt_.worker_->timers().arm(s.timer.node, h.last_client + static_cast<std::uint64_t>(fe.timeouts.client));
            return;
        }
        fc.timeouts.add();
        abort(s, h, TermCause::client_timeout, TermPhase::last);
        return;
    case HttpPhase::draining: rt_.abort_session(s); return;
    case HttpPhase::tunnel_wait: return;
    }
}

// ---------------------------------------------------------------------------------------------
// Closing

// After the last response: shut the write side and read until the client closes, so that
// unread pipelined bytes do not turn the close into a reset that could destroy the response.
void HttpEngine::close_client(TcpSession& s, HttpSession& h) noexcept {
    if (s.c2s.eof) {
        rt_.abort_session(s);
        return;
    }
    h.phase = HttpPhase::draining;
    rt_.shutdown_client_write(s);   // TLS: after a close_notify
    s.c2s.q.clear(rt_.worker_->buffers());
    arm_timer(s, h);
    maybe_rearm_client(s);
}

void HttpEngine::abort(TcpSession& s, HttpSession& h, TermCause cause, TermPhase phase) noexcept {
    if (h.term_cause == TermCause::none) {
        h.term_cause = cause;
        h.term_phase = phase;
    }
    const bool in_transaction = h.phase != HttpPhase::idle && h.phase != HttpPhase::draining &&
                                h.phase != HttpPhase::tunnel_wait;
    if (in_transaction && !h.logged) log_transaction(s, h);
    rt_.abort_session(s);
}

void HttpEngine::on_abort(TcpSession& s) noexcept {
    HttpSession& h = hs(s);
    if (h.conn != kNoSlot) {
        ServerConn& c = conns_[h.conn];
        c.failed = true;   // mid-transaction: never reused
    }
    end_server_side(s, h, false);
    if (h.own_conn != kNoSlot) {
        ServerConn& oc = conns_[h.own_conn];
        h.own_conn = kNoSlot;
        close_conn(oc);
    }
}

void HttpEngine::release(TcpSession& s) noexcept {
    HttpSession& h = hs(s);
    end_server_side(s, h, false);
    if (h.own_conn != kNoSlot) {
        ServerConn& oc = conns_[h.own_conn];
        h.own_conn = kNoSlot;
        close_conn(oc);
    }
    free_session(s, h);
}

void HttpEngine::free_session(TcpSession& s, HttpSession& h) noexcept {
    blocks_.release(h.req_block);
    blocks_.release(h.res_block);
    release_out(h.to_client);
    release_out(h.to_server);
    h.req_block = h.res_block = nullptr;
    h.req.reset(nullptr, 0);
    h.res.reset(nullptr, 0);
    sessions_.release(h.slot);
    s.http = kNoSlot;
}

void HttpEngine::stop(bool graceful_idle) noexcept {
    stopping_ = true;
    graceful_idle_ = graceful_idle;
    // Pooled connections close now; private ones with their session.
    conns_.for_each_live([&](std::uint32_t, ServerConn& c) {
        if (c.state == ConnState::pooled) close_conn(c);
    });
    // Idle keep-alive clients close now (HAProxy's soft stop); busy ones after their response.
    sessions_.for_each_live([&](std::uint32_t, HttpSession& h) {
        TcpSession& s = ts(h);
        if (s.aborting) return;
        if (h.phase == HttpPhase::idle && s.c2s.q.empty()) {
            if (!graceful_idle) rt_.abort_session(s);
            else if (h.requests != 0)   // a new connection keeps its timeout http-request
                rt_.worker_->timers().arm(s.timer.node, rt_.worker_->now() + kRetireIdleGraceMs);
        } else if (h.phase == HttpPhase::draining) arm_timer(s, h);
    });
}

}  // namespace skjold::proxy
