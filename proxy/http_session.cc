// HttpEngine, request side: session start, the pump, the request head (rules, monitor-uri,
// routing, forwardfor), server assignment, request body forwarding, local replies, timeouts.
#include "proxy/http_session.hh"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

#include "core/log.hh"
#include "proxy/balancer.hh"
#include "proxy/http_errors.hh"
#include "proxy/http_hop.hh"
#include "proxy/http_rules.hh"
#include "proxy/prometheus_exporter.hh"
#include "proxy/proxy_protocol.hh"
#include "proxy/session_fetch.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

namespace {

bool idempotent(std::string_view m) noexcept {
    return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

// The stricter of the frontend's and the backend's `option httpclose/http-server-close`.
conf::HttpConnMode conn_mode(const conf::Proxy& fe, const conf::Proxy* be) noexcept {
    auto m = fe.http_conn_mode;
    if (be != nullptr && static_cast<int>(be->http_conn_mode) > static_cast<int>(m)) m = be->http_conn_mode;
    return m;
}

}  // namespace

HttpEngine::HttpEngine(WorkerRuntime& rt)
    : rt_(rt),
      sessions_(static_cast<std::uint32_t>(share_of(rt.shared_.global_maxconn, rt.index_, rt.shared_.nworkers) + 16)),
      conns_(static_cast<std::uint32_t>(2 * share_of(rt.shared_.global_maxconn, rt.index_, rt.shared_.nworkers) + 64)),
      blocks_(rt.snap_.global.bufsize,
              static_cast<std::uint32_t>(4 * share_of(rt.shared_.global_maxconn, rt.index_, rt.shared_.nworkers) + 64)) {
    idle_heads_.resize(rt.snap_.proxies.size());
    for (std::size_t p = 0; p < rt.snap_.proxies.size(); ++p)
        idle_heads_[p].assign(rt.snap_.proxies[p].servers.size(), kNoSlot);
}

HttpEngine::~HttpEngine() = default;

TcpSession& HttpEngine::ts(HttpSession& h) noexcept { return rt_.sessions_[h.owner]; }

std::uint32_t& HttpEngine::idle_head(int backend, int server) noexcept { return idle_heads_[backend][server]; }

// ---------------------------------------------------------------------------------------------
// Start, receive, the pump

void HttpEngine::start(TcpSession& s) noexcept {
    std::uint32_t slot = sessions_.acquire();
    if (slot == core::Slab<HttpSession>::kNone) {
        rt_.stats_.sessions_refused.add();
        rt_.abort_session(s);
        return;
    }
    HttpSession& h = sessions_[slot];
    h.slot = slot;
    h.owner = s.slot;
    h.conn = h.own_conn = kNoSlot;
    h.requests = 0;
    h.client_eof = false;
    reset_transaction(h);
    h.phase = HttpPhase::idle;
    h.t_accept = h.t_idle = rt_.worker_->now();
    s.http = slot;
    s.state = TcpState::http;
    rt_.arm_recv(s, true);   // already armed after a PROXY header
    arm_timer(s, h);
    pump(s, h);
}

void HttpEngine::reset_transaction(HttpSession& h) noexcept {
    h.req_block = h.res_block = nullptr;
    h.to_client = Outbound{};
    h.to_server = Outbound{};
    h.client_send_inflight = h.client_send_body = false;
    h.server_send_inflight = h.server_send_body = false;
    h.req_fwd = h.res_fwd = 0;
    h.req_parsed = h.req_sent = h.res_started = h.res_head_done = h.res_parsed = false;
    h.upgrade_req = h.head_req = h.client_close = h.conn_reusable = h.reused = h.retryable = false;
    h.redispatched = h.server_close = h.got_response = h.logged = false;
    h.retries_left = 0;
    h.retry_server = h.routed_backend = h.routed_server = -1;
    h.status = -1;
    h.bytes_out = h.bytes_in = 0;
    h.t_start = h.t_head = h.t_assigned = h.t_connected = h.t_sent = h.t_res_head = h.t_end_override = 0;
    h.date_us = 0;
    h.term_cause = TermCause::none;
    h.term_phase = TermPhase::none;
}

void HttpEngine::on_client_recv(TcpSession& s, const io_uring_cqe& cqe) noexcept {
    HttpSession& h = hs(s);
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (cqe.res > 0) {
        const auto n = static_cast<std::uint64_t>(cqe.res);
        rt_.stats_.proxies[s.frontend].bytes_in.add(n);
        h.bytes_in += n;
        h.last_client = rt_.worker_->now();
        if (h.phase == HttpPhase::draining) {
            s.c2s.q.clear(rt_.worker_->buffers());   // after the last response: discarded
        } else {
            pump(s, h);
            if (s.aborting) return;
        }
        Direction& d = s.c2s;
        if (d.recv_armed && !d.cancel_sent && d.q.bytes >= kHighWater) {
            // Backpressure: pipelined requests or a request body the server does not take.
            rt_.cancel_op(s, kOpRecvClient);
            d.cancel_sent = true;
        }
        if (!more) maybe_rearm_client(s);
        return;
    }
    if (cqe.res == 0) {
        s.c2s.eof = true;
        h.client_eof = true;
        switch (h.phase) {
        case HttpPhase::idle:
            if (h.bytes_in == 0 && h.requests == 0) rt_.abort_session(s);   // a probe: nothing to log
            else close_client(s, h);
            return;
        case HttpPhase::head:
            rt_.stats_.proxies[s.frontend].failed_req.add();
            abort(s, h, TermCause::client_abort, TermPhase::request);
            return;
        case HttpPhase::draining: rt_.abort_session(s); return;
        case HttpPhase::tunnel_wait: try_handoff(s, h); return;
        default:
            // The request may be complete (a client that half-closes after sending it): the
            // response still goes back, then the connection closes. A truncated request body is
            // an abort, noticed by the pump.
            h.client_close = true;
            pump(s, h);
            return;
        }
    }
    if (cqe.res == -ENOBUFS) {
        s.c2s.starved = true;
        rt_.starved_.push_back(s.slot);
        return;
    }
    if (cqe.res == -ECANCELED) {
        if (h.phase == HttpPhase::tunnel_wait) try_handoff(s, h);
        else maybe_rearm_client(s);
        return;
    }
    abort(s, h, TermCause::client_abort, h.phase == HttpPhase::head ? TermPhase::request : TermPhase::data);
}

void HttpEngine::maybe_rearm_client(TcpSession& s) noexcept {
    if (s.aborting || s.http == kNoSlot) return;
    if (hs(s).phase == HttpPhase::tunnel_wait) return;
    rt_.arm_recv(s, true);   // only below the low-water mark, never after EOF
}

void HttpEngine::pump(TcpSession& s, HttpSession& h) noexcept {
    // Each round either changes phase or returns; every transaction waits for at least one send
    // completion, so the bound is never what stops a pipeline.
    for (int round = 0; round < 64; ++round) {
        if (s.aborting) return;
        switch (h.phase) {
        case HttpPhase::idle:
            if (s.c2s.q.empty() || !begin_request(s, h)) return;
            continue;
        case HttpPhase::head:
            if (!parse_request_head(s, h)) return;
            continue;
        case HttpPhase::connecting: return;
        case HttpPhase::exchange: {
            forward_request_body(s, h);
            if (s.aborting || h.phase != HttpPhase::exchange) continue;
            if (ServerConn* c = conn_of(h)) pump_response(s, h, *c);
            if (s.aborting || h.phase != HttpPhase::exchange) continue;
            kick_server_send(s, h);
            kick_client_send(s, h);
            if (h.res_parsed && h.res_fwd == 0 && !h.to_client.pending() && !h.client_send_inflight) {
                finish_transaction(s, h);
                continue;
            }
            return;
        }
        case HttpPhase::local_reply:
            if (!h.to_client.pending() && !h.client_send_inflight) {
                finish_transaction(s, h);
                continue;
            }
            kick_client_send(s, h);
            return;
        case HttpPhase::tunnel_wait: try_handoff(s, h); return;
        case HttpPhase::draining: return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request head

bool HttpEngine::begin_request(TcpSession& s, HttpSession& h) noexcept {
    if (h.req_block == nullptr) h.req_block = blocks_.acquire();
    if (h.req_block == nullptr) {
        rt_.stats_.proxies[s.frontend].internal_errors.add();
        abort(s, h, TermCause::resource, TermPhase::request);
        return false;
    }
    h.req.reset(h.req_block, blocks_.block_size());
    h.req_parser.start(&h.req, head_limit(blocks_.block_size()));
    h.phase = HttpPhase::head;
    h.t_start = rt_.worker_->now();
    h.date_us = log_wall_clock_us();
    arm_timer(s, h);
    return true;
}

HttpParser::Step HttpEngine::parse_queue(core::BufferQueue& q, std::uint64_t skip, HttpParser& p) noexcept {
    auto& br = rt_.worker_->buffers();
    std::size_t total = 0;
    bool fed = false;
    for (std::uint16_t b = q.head; b != core::kNoBuffer; b = br.meta(b).next) {
        const auto& m = br.meta(b);
        std::uint64_t avail = m.len - m.off;
        if (skip >= avail) {
            skip -= avail;
            continue;
        }
        const char* data = reinterpret_cast<const char*>(br.data(b)) + m.off + skip;
        std::size_t n = static_cast<std::size_t>(avail - skip);
        skip = 0;
        auto st = p.feed(data, n);
        fed = true;
        total += st.consumed;
        if (st.event != HttpParser::Event::need_more) return {st.event, total};
    }
    if (!fed) {
        // Nothing new: still drive a message that ends without more bytes (no body).
        static const char kNone = 0;
        auto st = p.feed(&kNone, 0);
        return {st.event, 0};
    }
    return {HttpParser::Event::need_more, total};
}

bool HttpEngine::parse_request_head(TcpSession& s, HttpSession& h) noexcept {
    if (s.c2s.q.empty()) return false;
    auto st = parse_queue(s.c2s.q, 0, h.req_parser);
    s.c2s.q.consume(rt_.worker_->buffers(), static_cast<std::uint32_t>(st.consumed));
    switch (st.event) {
    case HttpParser::Event::need_more: return false;
    case HttpParser::Event::head_done: on_request_head(s, h); return true;
    default: break;
    }
    // Nothing is forwarded: answer the parser's status and close.
    rt_.stats_.proxies[s.frontend].failed_req.add();
    SKJOLD_LOG(debug, "frontend {}: bad request: {}", rt_.snap_.proxies[s.frontend].name, h.req_parser.reason());
    h.req.reset(nullptr, 0);   // %r prints <BADREQ>
    h.client_close = true;
    reply_error(s, h, h.req_parser.status(), TermCause::proxy, TermPhase::request);
    return true;
}

void HttpEngine::on_request_head(TcpSession& s, HttpSession& h) noexcept {
    const auto& fe = rt_.snap_.proxies[s.frontend];
    h.t_head = rt_.worker_->now();
    rt_.stats_.proxies[s.frontend].req_tot.add();
    h.head_req = h.req_parser.is_head_method();
    h.upgrade_req = h.req_parser.upgrade();
    h.retryable = h.req_parser.body() == HttpParser::Body::none && idempotent(h.req.method());

    HopByHop hop = strip_hop_by_hop(h.req, h.upgrade_req);
    h.upgrade_req = h.upgrade_req && hop.upgrade;
    h.client_close = h.req.version() == 10 ? !hop.keep_alive : hop.close;
    if (fe.http_conn_mode == conf::HttpConnMode::close || rt_.stopping_) h.client_close = true;

    if (!acquire_out(h.to_server)) {
        rt_.stats_.proxies[s.frontend].internal_errors.add();
        reply_error(s, h, 500, TermCause::resource, TermPhase::request);
        return;
    }
    if (!run_request_rules(s, h, fe)) return;
    if (!fe.monitor_uri.empty() && monitor_uri_matches(fe, h.req)) {
        rt_.stats_.proxies[s.frontend].intercepted.add();
        Reply r = write_reply(error_response(fe, 200), &h.req, fe, h.to_server.block, blocks_.block_size());
        std::swap(h.to_client, h.to_server);
        reply_local(s, h, r.len, r.close, 200);
        return;
    }
    if (!choose_backend(s, h)) {
        rt_.stats_.proxies[s.frontend].no_server.add();
        reply_error(s, h, 503, TermCause::server_abort, TermPhase::connect);
        return;
    }
    const auto& be = rt_.snap_.proxies[s.backend];
    if (s.backend != s.frontend && !run_request_rules(s, h, be)) return;
    if (fe.forwardfor.enabled || be.forwardfor.enabled) {
        if (know_address(s, true) && !apply_forwardfor(fe, be, h.req, s.src)) {
            rt_.stats_.proxies[s.frontend].wrew.add();
            reply_error(s, h, 500, TermCause::proxy, TermPhase::request);
            return;
        }
    }
    prepare_request(s, h);
    if (s.aborting || h.phase != HttpPhase::head) return;
    assign_server(s, h, -1);
}

bool HttpEngine::run_request_rules(TcpSession& s, HttpSession& h, const conf::Proxy& px) noexcept {
    if (px.http_request.empty()) return true;
    SessionFetch ctx(rt_.shared_, s, &h.req);
    RuleVerdict v = run_http_request_rules(px, h.req, ctx, h.to_server.block, blocks_.block_size());
    auto& fc = rt_.stats_.proxies[s.frontend];
    switch (v.kind) {
    case RuleVerdict::Kind::cont: return true;
    case RuleVerdict::Kind::rewrite_failed:
        fc.wrew.add();
        reply_error(s, h, 500, TermCause::proxy, TermPhase::request);
        return false;
    case RuleVerdict::Kind::deny:
        fc.denied_req.add();
        h.term_cause = TermCause::proxy;
        h.term_phase = TermPhase::request;
        break;
    case RuleVerdict::Kind::respond:
        fc.intercepted.add();
        h.term_cause = TermCause::local;
        h.term_phase = TermPhase::request;
        break;
    case RuleVerdict::Kind::service:
        fc.intercepted.add();
        serve_prometheus(s, h, px);
        return false;
    }
    std::swap(h.to_client, h.to_server);
    reply_local(s, h, v.out_len, v.close || v.out_len == 0, v.status);
    return false;
}

bool HttpEngine::choose_backend(TcpSession& s, HttpSession& h) noexcept {
    const auto& px = rt_.snap_.proxies[s.frontend];
    SessionFetch ctx(rt_.shared_, s, &h.req);
    int be = -1;
    for (const auto& ub : px.use_backends) {
        if (ub.backend >= 0 && evaluate(ub.cond, px, ctx)) {
            be = ub.backend;
            break;
        }
    }
    if (be < 0) be = px.default_backend >= 0 ? px.default_backend : (px.is_backend ? s.frontend : -1);
    if (be < 0 || rt_.balancers_[be] == nullptr) return false;
    s.backend = be;
    h.routed_backend = be;
    auto& bc = rt_.stats_.proxies[be];
    bc.cur_conn.add();
    bc.cum_conn.add();
    note_max(bc.max_conn, bc.cur_conn.read());
    return true;
}

// The connection header toward the server, after hop-by-hop removal: keep-alive is the
// HTTP/1.1 default; HTTP/1.0 requests ask for it; httpclose/http-server-close say close.
void HttpEngine::prepare_request(TcpSession& s, HttpSession& h) noexcept {
    const auto& fe = rt_.snap_.proxies[s.frontend];
    const auto& be = rt_.snap_.proxies[s.backend];
    const auto mode = conn_mode(fe, &be);
    if (mode == conf::HttpConnMode::close) h.client_close = true;
    h.server_close = mode != conf::HttpConnMode::keep_alive;
    bool ok = true;
    if (h.upgrade_req) ok = h.req.add_header("Connection", "upgrade");
    else if (h.server_close) ok = h.req.add_header("Connection", "close");
    else if (h.req.version() == 10) ok = h.req.add_header("Connection", "keep-alive");
    if (!ok) {
        rt_.stats_.proxies[s.frontend].wrew.add();
        reply_error(s, h, 500, TermCause::proxy, TermPhase::request);
        return;
    }
    h.retries_left = be.retries;
}

// ---------------------------------------------------------------------------------------------
// Server assignment and the request toward it

void HttpEngine::assign_server(TcpSession& s, HttpSession& h, int avoid) noexcept {
    const auto& be = rt_.snap_.proxies[s.backend];
    Balancer& bal = *rt_.balancers_[s.backend];
    if (be.balance == conf::Balance::source) know_address(s, true);
    // Server maxconn: behind sessions already waiting, or when every usable server is full,
    // the request waits in the backend queue (worker_queue.cc) for a slot or timeout queue.
    int srv = rt_.queue_waiting(s.backend) ? -1 : bal.pick(s.src, avoid);
    if (srv < 0 && bal.candidates() > 0) {
        h.phase = HttpPhase::connecting;
        rt_.enqueue(s);
        return;
    }
    if (srv < 0) {
        rt_.stats_.proxies[s.backend].no_server.add();
        SKJOLD_LOG(debug, "backend {}: no server available", be.name);
        reply_error(s, h, 503, TermCause::server_abort, TermPhase::connect);
        return;
    }
    rt_.stats_.proxies[s.backend].lbtot.add();
    rt_.stats_.servers[s.backend][srv].lbtot.add();
    rt_.note_queue_time(s.backend, srv, 0);
    use_server(s, h, srv, false);
}

void HttpEngine::use_server(TcpSession& s, HttpSession& h, int srv, bool fresh) noexcept {
    const auto& be = rt_.snap_.proxies[s.backend];
    Balancer& bal = *rt_.balancers_[s.backend];
    s.server = srv;
    h.routed_server = srv;
    bal.on_connect(srv);
    auto& sc = rt_.stats_.servers[s.backend][srv];
    sc.cur_conn.add();
    sc.cum_conn.add();
    note_max(sc.max_conn, sc.cur_conn.read());
    h.t_assigned = rt_.worker_->now();

    const auto& opt = be.servers[srv].opt;
    ServerConn* c = nullptr;
    if (h.own_conn != kNoSlot) {
        // A private connection from the previous request: kept if it goes to the same server.
        ServerConn& oc = conns_[h.own_conn];
        h.own_conn = kNoSlot;
        if (!fresh && oc.state == ConnState::owned_idle && oc.backend == s.backend && oc.server == srv) c = &oc;
        else close_conn(oc);
    }
    const bool may_share = !opt.send_proxy && !opt.send_proxy_v2 && be.http_reuse != conf::HttpReuse::never;
    if (c == nullptr && !fresh && may_share) {
        const bool first = h.requests == 0;
        switch (be.http_reuse) {
        case conf::HttpReuse::safe:
            if (!first) c = take_idle(s.backend, srv, false);
            break;
        case conf::HttpReuse::aggressive: c = take_idle(s.backend, srv, first); break;
        case conf::HttpReuse::always: c = take_idle(s.backend, srv, false); break;
        case conf::HttpReuse::never: break;
        }
    }
    if (c != nullptr) {
        c->state = ConnState::busy;
        c->owner = h.slot;
        h.conn = c->slot;
        h.reused = true;
        rt_.stats_.proxies[s.backend].reuse.add();
        sc.reuse.add();
        h.t_connected = h.t_assigned;
        send_request(s, h, *c);
        return;
    }
    c = new_conn(s, s.backend, srv);
    if (c == nullptr) {
        rt_.stats_.proxies[s.frontend].internal_errors.add();
        reply_error(s, h, 503, TermCause::resource, TermPhase::connect);
        return;
    }
    c->is_private = !may_share;
    c->owner = h.slot;
    h.conn = c->slot;
    h.reused = false;
    h.phase = HttpPhase::connecting;
    rt_.stats_.proxies[s.backend].connect_attempts.add();
    sc.connect_attempts.add();
    connect_conn(*c);
}

void HttpEngine::send_request(TcpSession& s, HttpSession& h, ServerConn& c) noexcept {
    h.phase = HttpPhase::exchange;
    h.last_server = h.t_sent = rt_.worker_->now();
    if (h.to_server.block == nullptr && !acquire_out(h.to_server)) {
        reply_error(s, h, 500, TermCause::resource, TermPhase::connect);
        return;
    }
    // Frame what the queue already holds of the body, so that a small body leaves with the head.
    forward_request_body(s, h);
    if (s.aborting || h.phase != HttpPhase::exchange) return;
    char* out = h.to_server.block;
    const std::uint32_t cap = blocks_.block_size();
    std::uint32_t n = 0;
    const auto& opt = rt_.snap_.proxies[s.backend].servers[s.server].opt;
    if ((opt.send_proxy || opt.send_proxy_v2) && c.uses == 0 && !h.reused) {
        // send-proxy: the PROXY header opens the connection, in the same send as the head.
        bool known = know_address(s, true);
        known = know_address(s, false) && known;
        std::span<std::uint8_t> buf(reinterpret_cast<std::uint8_t*>(out), kMaxProxyOut);
        n = static_cast<std::uint32_t>(opt.send_proxy_v2
                                           ? build_proxy_v2(buf, known, s.src, s.src_port, s.dst, s.dst_port)
                                           : build_proxy_v1(buf, known, s.src, s.src_port, s.dst, s.dst_port));
    }
    std::size_t head = h.req.serialize(out + n, cap - n);
    if (head == 0) {
        rt_.stats_.proxies[s.frontend].wrew.add();
        reply_error(s, h, 500, TermCause::proxy, TermPhase::request);
        return;
    }
    n += static_cast<std::uint32_t>(head);
    n += take_from_queue(s.c2s.q, h.req_fwd, out + n, cap - n);
    h.to_server.data = out;
    h.to_server.len = n;
    h.to_server.off = 0;
    rt_.stats_.proxies[s.backend].req_tot.add();
    rt_.stats_.servers[s.backend][s.server].req_tot.add();
    arm_timer(s, h);
    kick_server_send(s, h);
    maybe_rearm_client(s);
}

std::uint32_t HttpEngine::take_from_queue(core::BufferQueue& q, std::uint64_t& fwd, char* out, std::uint32_t cap) noexcept {
    auto& br = rt_.worker_->buffers();
    std::uint32_t copied = 0;
    while (fwd > 0 && copied < cap && !q.empty()) {
        const auto& m = br.meta(q.head);
        std::uint64_t n = m.len - m.off;
        if (n > fwd) n = fwd;
        if (n > cap - copied) n = cap - copied;
        std::memcpy(out + copied, br.data(q.head) + m.off, n);
        copied += static_cast<std::uint32_t>(n);
        fwd -= n;
        q.consume(br, static_cast<std::uint32_t>(n));
    }
    return copied;
}

void HttpEngine::forward_request_body(TcpSession& s, HttpSession& h) noexcept {
    if (!h.req_parsed) {
        auto st = parse_queue(s.c2s.q, h.req_fwd, h.req_parser);
        h.req_fwd += st.consumed;
        switch (st.event) {
        case HttpParser::Event::need_more:
            if (s.c2s.eof) {
                // The client closed in the middle of its request body.
                rt_.stats_.proxies[s.frontend].failed_req.add();
                if (s.backend >= 0) rt_.stats_.proxies[s.backend].cli_abrt.add();
                abort(s, h, TermCause::client_abort, TermPhase::data);
                return;
            }
            break;
        case HttpParser::Event::message_done:
        case HttpParser::Event::upgrade: h.req_parsed = true; break;
        case HttpParser::Event::head_done: break;
        case HttpParser::Event::error:
            rt_.stats_.proxies[s.frontend].failed_req.add();
            if (ServerConn* c = conn_of(h)) c->failed = true;   // it got part of a request
            h.client_close = true;
            reply_error(s, h, 400, TermCause::client_abort, TermPhase::data);
            return;
        }
    }
    if (h.req_parsed && h.req_fwd == 0 && !h.to_server.pending() && !h.server_send_inflight) h.req_sent = true;
}

void HttpEngine::kick_server_send(TcpSession& s, HttpSession& h) noexcept {
    ServerConn* c = conn_of(h);
    if (c == nullptr || c->state != ConnState::busy || h.server_send_inflight || s.aborting) return;
    if (h.to_server.pending()) {
        conn_send(*c, h.to_server.data + h.to_server.off, h.to_server.len - h.to_server.off);
        h.server_send_body = false;
    } else if (h.req_fwd > 0 && !s.c2s.q.empty()) {
        auto& br = rt_.worker_->buffers();
        const auto& m = br.meta(s.c2s.q.head);
        std::uint64_t n = m.len - m.off;
        if (n > h.req_fwd) n = h.req_fwd;
        conn_send(*c, reinterpret_cast<const char*>(br.data(s.c2s.q.head)) + m.off, static_cast<std::uint32_t>(n));
        h.server_send_body = true;
    } else {
        return;
    }
    h.server_send_inflight = true;
}

void HttpEngine::on_server_sent(TcpSession& s, HttpSession& h, ServerConn& c, int res) noexcept {
    h.server_send_inflight = false;
    if (res <= 0) {
        c.failed = true;
        pump(s, h);   // the response side decides: retry, 502 or abort
        return;
    }
    const auto n = static_cast<std::uint32_t>(res);
    if (h.server_send_body) {
        s.c2s.q.consume(rt_.worker_->buffers(), n);
        h.req_fwd -= n;
        // While the server was slow to take the body the client was not late: its clock restarts.
        h.last_client = rt_.worker_->now();
        maybe_rearm_client(s);
    } else {
        h.to_server.off += n;
        if (!h.to_server.pending()) release_out(h.to_server);
    }
    rt_.stats_.servers[s.backend][s.server].bytes_out.add(n);
    h.last_server = rt_.worker_->now();
    if (h.req_parsed && h.req_fwd == 0 && !h.to_server.pending()) h.req_sent = true;
    pump(s, h);
}

// ---------------------------------------------------------------------------------------------
// Toward the client

void HttpEngine::kick_client_send(TcpSession& s, HttpSession& h) noexcept {
    if (h.client_send_inflight || s.aborting) return;
    const char* data = nullptr;
    std::uint32_t len = 0;
    if (h.to_client.pending()) {
        data = h.to_client.data + h.to_client.off;
        len = h.to_client.len - h.to_client.off;
        h.client_send_body = false;
    } else if (h.res_fwd > 0) {
        ServerConn* c = conn_of(h);
        if (c == nullptr || c->in.empty()) return;
        auto& br = rt_.worker_->buffers();
        const auto& m = br.meta(c->in.head);
        std::uint64_t n = m.len - m.off;
        if (n > h.res_fwd) n = h.res_fwd;
        data = reinterpret_cast<const char*>(br.data(c->in.head)) + m.off;
        len = static_cast<std::uint32_t>(n);
        h.client_send_body = true;
    } else {
        return;
    }
    if (s.tls != nullptr) {   // TLS: encrypted first; completes in on_client_sent (tls_front.cc)
        h.client_send_inflight = true;
        rt_.tls_send(s, data, len);
        return;
    }
    io_uring_sqe* sqe = rt_.worker_->ring().sqe();
    io_uring_prep_send(sqe, s.cfd, data, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, rt_.udata(s, kOpSendClient));
    ++s.inflight;
    h.client_send_inflight = true;
}

void HttpEngine::on_client_sent(TcpSession& s, int res) noexcept {
    --s.inflight;
    if (s.aborting) {
        rt_.release_if_idle(s);
        return;
    }
    HttpSession& h = hs(s);
    h.client_send_inflight = false;
    if (res <= 0) {
        // The client is gone while its response was going out.
        if (s.backend >= 0) rt_.stats_.proxies[s.backend].cli_abrt.add();
        abort(s, h, TermCause::client_abort, h.phase == HttpPhase::local_reply ? TermPhase::last : TermPhase::data);
        return;
    }
    const auto n = static_cast<std::uint32_t>(res);
    if (h.client_send_body) {
        // While the client was slow to take the body the server was not late: its clock restarts.
        h.last_server = rt_.worker_->now();
        if (ServerConn* c = conn_of(h)) {
            c->in.consume(rt_.worker_->buffers(), n);
            if (!c->recv_armed && !c->eof && !c->failed && c->state == ConnState::busy) arm_conn_recv(*c);
        }
        h.res_fwd -= n;
    } else {
        h.to_client.off += n;
        if (!h.to_client.pending()) release_out(h.to_client);
    }
    h.bytes_out += n;
    rt_.stats_.proxies[s.frontend].bytes_out.add(n);
    h.last_client = rt_.worker_->now();
    pump(s, h);
}

bool HttpEngine::acquire_out(Outbound& o) noexcept {
    if (o.block == nullptr) o.block = blocks_.acquire();
    o.data = o.block;
    o.len = o.off = 0;
    return o.block != nullptr;
}

void HttpEngine::release_out(Outbound& o) noexcept {
    if (o.page >= 0 && prom_) prom_->release(o.page);
    blocks_.release(o.block);
    o = Outbound{};
}

// The page for `status` (the backend's errorfile when it has one, else the frontend's, else
// HAProxy's default), unless a response already started: then only closing is left.
void HttpEngine::reply_error(TcpSession& s, HttpSession& h, int status, TermCause cause, TermPhase phase) noexcept {
    h.term_cause = cause;
    h.term_phase = phase;
    if (h.res_started || h.to_client.pending() || h.client_send_inflight) {
        abort(s, h, cause, phase);
        return;
    }
    end_server_side(s, h, false);
    const auto& fe = rt_.snap_.proxies[s.frontend];
    const conf::Proxy* px = &fe;
    if (h.routed_backend >= 0) {
        const auto& be = rt_.snap_.proxies[h.routed_backend];
        if (be.errorfiles.count(status) != 0 || fe.errorfiles.count(status) == 0) px = &be;
    }
    if (!acquire_out(h.to_client)) {
        abort(s, h, TermCause::resource, phase);
        return;
    }
    const HttpMessage* req = h.req.empty() || h.phase == HttpPhase::idle ? nullptr : &h.req;
    Reply r = write_reply(error_response(*px, status), req, *px, h.to_client.block, blocks_.block_size());
    // A request whose body was not read to its end leaves the connection out of step.
    reply_local(s, h, r.len, r.close || !h.req_parsed, status);
}

void HttpEngine::reply_local(TcpSession& s, HttpSession& h, std::size_t len, bool close, int status) noexcept {
    if (h.to_client.page < 0) h.to_client.data = h.to_client.block;   // a Prometheus page brings its own bytes
    if (len == 0) close = true;   // an empty errorfile: close without answering
    // A generation retired by a reload ends the connection with this answer (HttpEngine::finish):
    // the client is told, as with a proxied response, so it does not send into a closing socket.
    if (!close && (rt_.stopping_ || stopping_)) {
        if (h.to_client.page < 0) len = announce_close(h.to_client.block, len, blocks_.block_size());
        close = true;
    }
    h.to_client.len = static_cast<std::uint32_t>(len);
    h.to_client.off = 0;
    h.status = status;
    if (h.t_head == 0) h.t_head = rt_.worker_->now();
    if (status > 0) count_status(s, h, status);
    if (close) h.client_close = true;
    if (h.req_parser.in_head()) h.client_close = true;   // the request's end is unknown
    h.res_started = len > 0;
    h.phase = HttpPhase::local_reply;
    arm_timer(s, h);
    kick_client_send(s, h);
}

// The exporter's page is the answer; it lives in the exporter's buffer (not a pool block) and
// goes out through the same send path as any local reply, in as many sends as the socket takes.
void HttpEngine::serve_prometheus(TcpSession& s, HttpSession& h, const conf::Proxy& px) noexcept {
    PromScope scope;
    std::string_view uri = h.req.uri();
    std::size_t q = uri.find('?');
    if (!parse_prom_query(q == std::string_view::npos ? std::string_view{} : uri.substr(q + 1), scope)) {
        reply_error(s, h, 400, TermCause::local, TermPhase::request);
        return;
    }
    if (!prom_) {
        try {
            prom_ = std::make_unique<PrometheusExporter>(rt_.shared_);
        } catch (const std::bad_alloc&) {
            rt_.stats_.proxies[s.frontend].internal_errors.add();
            reply_error(s, h, 503, TermCause::resource, TermPhase::request);
            return;
        }
    }
    ConnReply conn = connection_reply(&h.req, px);
    PrometheusExporter::Page page = prom_->render(rt_.shared_.stats_view.load(std::memory_order_acquire), scope, conn.header, h.head_req, rt_.stopping_, core::monotonic_ms());
    if (page.id < 0) {   // every page buffer is being sent (or no memory): HAProxy would queue
        rt_.stats_.proxies[s.frontend].internal_errors.add();
        reply_error(s, h, 503, TermCause::resource, TermPhase::request);
        return;
    }
    h.term_cause = TermCause::local;
    h.term_phase = TermPhase::request;
    std::swap(h.to_client, h.to_server);   // the block acquired for the request goes back with it
    h.to_client.page = page.id;
    h.to_client.data = page.data;
    reply_local(s, h, page.len, conn.close, 200);   // a request body is skipped, as after `return`
}

}  // namespace skjold::proxy
