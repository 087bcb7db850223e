// HttpEngine, response side: the response head (interim responses, upgrade, rules, connection
// header), the body stream, a server that goes away, the end of a transaction, the tunnel
// handoff and the access-log record.
#include <cstring>

#include "core/log.hh"
#include "proxy/balancer.hh"
#include "proxy/http_hop.hh"
#include "proxy/http_rules.hh"
#include "proxy/http_session.hh"
#include "proxy/session_fetch.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

void HttpEngine::pump_response(TcpSession& s, HttpSession& h, ServerConn& c) noexcept {
    for (int round = 0; round < 8; ++round) {
        if (!h.res_head_done) {
            if (c.in.empty() && !c.eof && !c.failed) return;
            // An interim response (100 Continue) still going out: the next head waits.
            if (h.to_client.pending() || h.client_send_inflight) return;
            if (h.res_block == nullptr) {
                h.res_block = blocks_.acquire();
                if (h.res_block == nullptr) {
                    reply_error(s, h, 502, TermCause::resource, TermPhase::headers);
                    return;
                }
                h.res.reset(h.res_block, blocks_.block_size());
                h.res_parser.start(&h.res, head_limit(blocks_.block_size()), h.head_req);
            }
            if (c.in.empty()) {
                on_server_gone(s, h, c);
                return;
            }
            auto st = parse_queue(c.in, 0, h.res_parser);
            c.in.consume(rt_.worker_->buffers(), static_cast<std::uint32_t>(st.consumed));
            h.got_response = true;
            if (st.event == HttpParser::Event::need_more) {
                if (c.eof || c.failed) on_server_gone(s, h, c);
                return;
            }
            if (st.event != HttpParser::Event::head_done) {
                // Malformed response: 502, and this connection is never reused.
                SKJOLD_LOG(debug, "backend {}: bad response: {}", rt_.snap_.proxies[s.backend].name,
                           h.res_parser.reason());
                c.failed = true;
                observe(s.backend, s.server, health::ObserveEvent::http_invalid);
                rt_.stats_.proxies[s.backend].failed_resp.add();
                rt_.stats_.servers[s.backend][s.server].failed_resp.add();
                reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
                return;
            }
            on_response_head(s, h, c);
            if (s.aborting || h.phase != HttpPhase::exchange) return;
            continue;
        }
        if (h.res_parsed) return;
        auto st = parse_queue(c.in, h.res_fwd, h.res_parser);
        h.res_fwd += st.consumed;
        switch (st.event) {
        case HttpParser::Event::need_more:
            if (c.eof || c.failed) {
                if (!c.failed && h.res_parser.finish().event == HttpParser::Event::message_done) {
                    h.res_parsed = true;   // until-close body: the close ends it
                    h.conn_reusable = false;
                } else if (h.res_fwd > 0 || h.to_client.pending() || h.client_send_inflight) {
                    // A server that resets (or closes) mid-body: what it sent before still goes to
                    // the client (the head at least), then the client connection closes (SD), as
                    // HAProxy does. The send completion pumps again and ends here once flushed.
                    return;
                } else {
                    rt_.stats_.proxies[s.backend].srv_abrt.add();
                    rt_.stats_.servers[s.backend][s.server].srv_abrt.add();
                    abort(s, h, TermCause::server_abort, TermPhase::data);
                }
            }
            return;
        case HttpParser::Event::message_done:
        case HttpParser::Event::upgrade:
            h.res_parsed = true;
            // Bytes after the response that nobody asked for: the connection is out of step.
            if (c.in.bytes > h.res_fwd) h.conn_reusable = false;
            return;
        case HttpParser::Event::head_done: return;
        case HttpParser::Event::error:
            c.failed = true;
            rt_.stats_.proxies[s.backend].failed_resp.add();
            abort(s, h, TermCause::server_abort, TermPhase::data);
            return;
        }
    }
}

void HttpEngine::on_response_head(TcpSession& s, HttpSession& h, ServerConn& c) noexcept {
    const auto& fe = rt_.snap_.proxies[s.frontend];
    const auto& be = rt_.snap_.proxies[s.backend];
    const int status = h.res.status();
    h.last_server = rt_.worker_->now();
    observe(s.backend, s.server, health::observe_http_status(status));

    if (status < 200 && status != 101) {
        // Interim (100 Continue, 103): relayed as it came, then the final response follows. An
        // HTTP/1.0 client does not know 1xx (RFC 9110 15.2): it only gets the final response.
        if (h.req.version() != 10) {
            strip_hop_by_hop(h.res, false);
            if (!acquire_out(h.to_client)) {
                reply_error(s, h, 502, TermCause::resource, TermPhase::headers);
                return;
            }
            h.to_client.len = static_cast<std::uint32_t>(h.res.serialize(h.to_client.block, blocks_.block_size()));
        }
        h.res_parser.feed(h.res_block, 0);   // ends the interim message
        h.res.reset(h.res_block, blocks_.block_size());
        h.res_parser.start(&h.res, head_limit(blocks_.block_size()), h.head_req);
        kick_client_send(s, h);
        return;
    }
    h.t_res_head = rt_.worker_->now();
    if (status == 101) {
        // The tunnel relays raw sockets: not over a TLS server connection (not supported yet).
        if (!h.upgrade_req || c.tls.active()) {
            c.failed = true;
            rt_.stats_.proxies[s.backend].failed_resp.add();
            reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
            return;
        }
        start_tunnel(s, h, c);
        return;
    }
    h.res_head_done = true;
    HopByHop hop = strip_hop_by_hop(h.res, false);
    const bool until_close = h.res_parser.body() == HttpParser::Body::until_close;
    const bool server_keeps = h.res.version() == 10 ? hop.keep_alive : !hop.close;
    h.conn_reusable = server_keeps && !until_close && !h.server_close;

    SessionFetch ctx(rt_.shared_, s, &h.req);
    if ((s.backend != s.frontend && !run_http_response_rules(be, h.res, ctx)) || !run_http_response_rules(fe, h.res, ctx)) {
        rt_.stats_.proxies[s.frontend].wrew.add();
        c.failed = true;
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    // The client side: a body that ends with the close cannot be delimited on a kept connection.
    if (until_close) h.client_close = true;
    // Stopping, or a reload retired this generation: the client is told to reconnect (to the
    // new one), so its next request does not meet a closed connection.
    if (rt_.stopping_ || stopping_) h.client_close = true;
    bool ok = true;
    if (h.client_close) ok = h.res.add_header("Connection", "close");
    else if (h.req.version() == 10) ok = h.res.add_header("Connection", "keep-alive");
    if (!ok || !acquire_out(h.to_client)) {
        rt_.stats_.proxies[s.frontend].wrew.add();
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    // Frame the body bytes that came with the head so that a small body leaves with it.
    auto st = parse_queue(c.in, 0, h.res_parser);
    h.res_fwd = st.consumed;
    if (st.event == HttpParser::Event::message_done) {
        h.res_parsed = true;
        if (c.in.bytes > h.res_fwd) h.conn_reusable = false;
    } else if (st.event == HttpParser::Event::error) {
        c.failed = true;
        rt_.stats_.proxies[s.backend].failed_resp.add();
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    char* out = h.to_client.block;
    const std::uint32_t cap = blocks_.block_size();
    std::size_t n = h.res.serialize(out, cap);
    if (n == 0) {
        rt_.stats_.proxies[s.frontend].wrew.add();
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    n += take_from_queue(c.in, h.res_fwd, out + n, cap - static_cast<std::uint32_t>(n));
    h.to_client.len = static_cast<std::uint32_t>(n);
    h.res_started = true;
    h.status = status;
    count_status(s, h, status);
    kick_client_send(s, h);
}

// The server connection ended (FIN, reset, failed send) before the response was complete.
// Nothing of a response came and the request is idempotent without a body: it goes again on a
// new connection (within `retries`). An idle connection the server had closed retries the same
// server; a connection that dies under a request it had just received (a server going down)
// retries elsewhere with `option redispatch`, as a failed connect would.
void HttpEngine::on_server_gone(TcpSession& s, HttpSession& h, ServerConn& c) noexcept {
    const auto& be = rt_.snap_.proxies[s.backend];
    if (!h.res_head_done)
        observe(s.backend, s.server, c.failed ? health::ObserveEvent::http_read_error
                                              : health::ObserveEvent::http_broken_pipe);
    if (!h.got_response && h.retryable && h.retries_left > 0) {
        --h.retries_left;
        const int srv = s.server;
        rt_.stats_.proxies[s.backend].retries.add();
        rt_.stats_.servers[s.backend][srv].retries.add();
        SKJOLD_LOG(debug, "backend {}: server {} closed a connection before answering, retrying", be.name,
                   be.servers[srv].name);
        const bool was_reused = h.reused;
        h.conn = kNoSlot;
        close_conn(c);
        rt_.balancers_[s.backend]->on_release(srv);
        rt_.stats_.servers[s.backend][srv].cur_conn.sub();
        s.server = -1;
        release_out(h.to_server);
        h.server_send_inflight = false;
        h.req_sent = false;
        if (!was_reused && be.option_redispatch) {
            rt_.stats_.proxies[s.backend].redispatches.add();
            rt_.stats_.servers[s.backend][srv].redispatches.add();
            h.redispatched = true;
            h.phase = HttpPhase::connecting;
            assign_server(s, h, srv);
            return;
        }
        use_server(s, h, srv, true);
        return;
    }
    rt_.stats_.proxies[s.backend].failed_resp.add();
    rt_.stats_.servers[s.backend][s.server].failed_resp.add();
    if (!h.res_head_done) {
        rt_.stats_.proxies[s.backend].srv_abrt.add();
        reply_error(s, h, 502, TermCause::server_abort, TermPhase::headers);
    } else {
        abort(s, h, TermCause::server_abort, TermPhase::data);
    }
}

// ---------------------------------------------------------------------------------------------
// End of a transaction

void HttpEngine::finish_transaction(TcpSession& s, HttpSession& h) noexcept {
    if (!h.logged) log_transaction(s, h);
    if (h.routed_backend >= 0 && h.t_res_head != 0) {
        // rtime/ttime of `show stat`: response head time and whole-transaction time.
        const std::uint64_t now = rt_.worker_->now();
        auto& b = rt_.stats_.proxies[h.routed_backend];
        b.rtime_sum.add(h.t_res_head - h.t_sent);
        b.rtime_n.add();
        b.ttime_sum.add(now - (h.t_start ? h.t_start : h.t_accept));
        b.ttime_n.add();
        if (h.routed_server >= 0) {
            auto& v = rt_.stats_.servers[h.routed_backend][h.routed_server];
            v.rtime_sum.add(h.t_res_head - h.t_sent);
            v.rtime_n.add();
            v.ttime_sum.add(now - (h.t_start ? h.t_start : h.t_accept));
            v.ttime_n.add();
        }
    }
    const bool keep = h.conn_reusable && h.req_sent && h.res_parsed;
    end_server_side(s, h, keep);
    blocks_.release(h.req_block);
    blocks_.release(h.res_block);
    release_out(h.to_client);
    release_out(h.to_server);
    h.req.reset(nullptr, 0);
    h.res.reset(nullptr, 0);
    ++h.requests;
    if (!h.req_parsed && !h.client_close) skip_request_rest(s, h);
    // A request whose end was never found leaves the connection out of step.
    if (!h.req_parsed) h.client_close = true;
    // Stopping: the connection ends with this response. A generation retired by a reload
    // instead keeps a connection whose response did not say close: the client may already be
    // sending its next request, which is answered (with Connection: close) rather than lost.
    const bool ending = (rt_.stopping_ || stopping_) && !graceful_idle_;
    if (h.client_close || ending || s.c2s.eof) {
        reset_transaction(h);
        close_client(s, h);
        return;
    }
    reset_transaction(h);
    h.phase = HttpPhase::idle;
    // TLS: an idle keep-alive connection keeps no output buffer (OpenSSL releases its own
    // record buffers too: SSL_MODE_RELEASE_BUFFERS).
    if (s.tls != nullptr) s.tls->trim();
    h.t_idle = rt_.worker_->now();
    arm_timer(s, h);
    maybe_rearm_client(s);
}

// A request answered locally before its end was read (deny, return, an error): when the rest
// of it (no body, or a body already received whole) is in the queue, it is skipped so the
// connection stays usable; otherwise the caller closes.
void HttpEngine::skip_request_rest(TcpSession& s, HttpSession& h) noexcept {
    if (!h.req_parser.in_body()) return;
    auto st = parse_queue(s.c2s.q, h.req_fwd, h.req_parser);
    if (st.event != HttpParser::Event::message_done) return;
    h.req_fwd += st.consumed;
    s.c2s.q.consume(rt_.worker_->buffers(), static_cast<std::uint32_t>(h.req_fwd));
    h.req_fwd = 0;
    h.req_parsed = true;
}

// Undoes the transaction's backend and server counts and lets its server connection go:
// back to the pool (or kept as the session's private one) when `keep`, else closed.
void HttpEngine::end_server_side(TcpSession& s, HttpSession& h, bool keep) noexcept {
    if (s.backend >= 0) {
        rt_.stats_.proxies[s.backend].cur_conn.sub();
        if (s.server >= 0) {
            rt_.balancers_[s.backend]->on_release(s.server);
            rt_.stats_.servers[s.backend][s.server].cur_conn.sub();
        }
    }
    s.backend = s.server = -1;
    if (h.conn == kNoSlot) return;
    ServerConn& c = conns_[h.conn];
    h.conn = kNoSlot;
    if (keep && !c.failed && !c.eof && c.in.empty() && c.state == ConnState::busy && !c.send_inflight) {
        ++c.uses;
        if (c.is_private) {
            c.state = ConnState::owned_idle;
            h.own_conn = c.slot;
        } else {
            pool_conn(c);
        }
        if (!c.recv_armed && !c.starved) arm_conn_recv(c);
        return;
    }
    close_conn(c);
}

void HttpEngine::count_status(TcpSession& s, HttpSession& h, int status) noexcept {
    auto bump = [status](core::Counter& c1, core::Counter& c2, core::Counter& c3, core::Counter& c4,
                         core::Counter& c5, core::Counter& other) {
        switch (status / 100) {
        case 1: c1.add(); break;
        case 2: c2.add(); break;
        case 3: c3.add(); break;
        case 4: c4.add(); break;
        case 5: c5.add(); break;
        default: other.add(); break;
        }
    };
    auto& f = rt_.stats_.proxies[s.frontend];
    bump(f.hrsp_1xx, f.hrsp_2xx, f.hrsp_3xx, f.hrsp_4xx, f.hrsp_5xx, f.hrsp_other);
    if (h.routed_backend >= 0 && h.routed_backend != s.frontend) {
        auto& b = rt_.stats_.proxies[h.routed_backend];
        bump(b.hrsp_1xx, b.hrsp_2xx, b.hrsp_3xx, b.hrsp_4xx, b.hrsp_5xx, b.hrsp_other);
    }
    if (h.routed_backend >= 0 && s.server >= 0) {
        auto& v = rt_.stats_.servers[h.routed_backend][s.server];
        bump(v.hrsp_1xx, v.hrsp_2xx, v.hrsp_3xx, v.hrsp_4xx, v.hrsp_5xx, v.hrsp_other);
    }
}

// ---------------------------------------------------------------------------------------------
// Upgrade: the 101 goes to the client, then both sockets move to the tcp relay.

void HttpEngine::start_tunnel(TcpSession& s, HttpSession& h, ServerConn& c) noexcept {
    strip_hop_by_hop(h.res, true);
    bool ok = h.res.add_header("Connection", "upgrade");
    if (!ok || !acquire_out(h.to_client)) {
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    std::size_t n = h.res.serialize(h.to_client.block, blocks_.block_size());
    if (n == 0) {
        reply_error(s, h, 502, TermCause::proxy, TermPhase::headers);
        return;
    }
    h.to_client.len = static_cast<std::uint32_t>(n);
    h.res_started = h.res_head_done = true;
    h.status = 101;
    count_status(s, h, 101);
    h.phase = HttpPhase::tunnel_wait;
    rt_.worker_->timers().cancel(s.timer.node);
    // Both receives stop so that their operations carry the relay's codes once re-armed.
    if (s.c2s.recv_armed && !s.c2s.cancel_sent) {
        rt_.cancel_op(s, kOpRecvClient);
        s.c2s.cancel_sent = true;
    }
    cancel_conn_recv(c);
    kick_client_send(s, h);
    try_handoff(s, h);
}

void HttpEngine::try_handoff(TcpSession& s, HttpSession& h) noexcept {
    ServerConn* cp = conn_of(h);
    if (cp == nullptr) {
        abort(s, h, TermCause::internal, TermPhase::data);
        return;
    }
    ServerConn& c = *cp;
    if (h.to_client.pending() || h.client_send_inflight || s.c2s.recv_armed || c.inflight != 0 ||
        h.server_send_inflight || h.to_server.pending() || h.req_fwd != 0)
        return;
    h.t_end_override = rt_.worker_->now();
    log_transaction(s, h);
    // The socket, the bytes that followed the 101, and the server's FIN move to the session.
    s.sfd = c.fd;
    s.s2c.q = c.in;
    s.s2c.eof = c.eof;
    c.fd = -1;
    c.in = core::BufferQueue{};
    h.conn = kNoSlot;
    c.state = ConnState::closing;
    release_conn_if_idle(c);
    // The transaction's backend/server counts stay with the session: the relay's release undoes them.
    free_session(s, h);
    s.c2s.cancel_sent = false;
    rt_.start_relay(s);
}

// ---------------------------------------------------------------------------------------------
// Access log

void HttpEngine::log_transaction(TcpSession& s, HttpSession& h) noexcept {
    h.logged = true;
    LogRing* ring = rt_.log_ring();
    const auto& fe = rt_.snap_.proxies[s.frontend];
    // Nothing to log (log_session would drop it): skip building the record.
    if (ring == nullptr || fe.logs.empty() || !(fe.option_httplog || fe.option_tcplog)) return;
    const std::uint64_t now = h.t_end_override ? h.t_end_override : rt_.worker_->now();
    AccessLogFields f;
    know_address(s, true);
    if (s.src_known) {
        f.client_ip = s.src;
        f.client_port = s.src_port;
    } else {
        f.client_kind = AccessLogFields::Client::unknown;
    }
    f.date_us = h.date_us != 0 ? h.date_us : log_wall_clock_us();
    f.frontend = fe.name;
    if (h.routed_backend >= 0) {
        const auto& be = rt_.snap_.proxies[h.routed_backend];
        f.backend = be.name;
        if (h.routed_server >= 0) f.server = be.servers[h.routed_server].name;
    }
    const std::uint64_t start = h.t_start != 0 ? h.t_start : h.t_accept;
    auto span = [](std::uint64_t from, std::uint64_t to) -> std::int64_t {
        return from == 0 || to == 0 || to < from ? -1 : static_cast<std::int64_t>(to - from);
    };
    f.t_request = span(start, h.t_head);
    f.t_queue = h.t_assigned ? span(h.t_head, h.t_assigned) : -1;
    f.t_connect = h.t_connected ? span(h.t_assigned, h.t_connected) : -1;
    f.t_response = h.t_res_head ? span(h.t_sent, h.t_res_head) : -1;
    f.t_active = span(start, now);
    f.t_total = span(h.t_accept, now);
    f.status = h.status;
    f.bytes_out = h.bytes_out;
    f.bytes_in = h.bytes_in;
    f.term_cause = h.term_cause;
    f.term_phase = h.term_phase;
    f.feconn = static_cast<std::uint32_t>(rt_.stats_.proxies[s.frontend].cur_conn.read());
    f.actconn = rt_.sessions_.in_use();
    if (h.routed_backend >= 0) {
        f.beconn = static_cast<std::uint32_t>(rt_.stats_.proxies[h.routed_backend].cur_conn.read());
        if (h.routed_server >= 0)
            f.srvconn = static_cast<std::uint32_t>(rt_.stats_.servers[h.routed_backend][h.routed_server].cur_conn.read());
        f.retries = static_cast<std::uint32_t>(rt_.snap_.proxies[h.routed_backend].retries - h.retries_left);
    }
    f.redispatched = h.redispatched;
    // %r: the request line as received, rebuilt from the parsed message in the worker's scratch.
    if (!h.req.empty() && !h.req.method().empty()) {
        char* line = log_line_;
        std::size_t cap = sizeof log_line_, n = 0;
        auto put = [&](std::string_view v) {
            std::size_t k = v.size() < cap - n ? v.size() : cap - n;
            std::memcpy(line + n, v.data(), k);
            n += k;
        };
        put(h.req.method());
        put(" ");
        put(h.req.uri());
        put(h.req.version() == 10 ? " HTTP/1.0" : " HTTP/1.1");
        f.request_line = std::string_view(line, n);
    }
    // ACCESS LOG: the one call that emits the httplog line for this request.
    log_session(*ring, fe, s.frontend, rt_.shared_.generation, f);
}

}  // namespace skjold::proxy
