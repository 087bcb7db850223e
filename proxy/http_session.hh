#pragma once
// `mode http`: the HTTP/1.1 proxy engine of one worker. Owner: the worker thread
// (WorkerRuntime creates it on its own thread and drives it from its completion loop).
//
// A client connection is a TcpSession in state TcpState::http plus an HttpSession here (index
// TcpSession::http); the client socket's receive, sends and cancels keep the TcpSession's slot
// and op codes, so accept, tcp-request rules, the PROXY header, maxconn and aborts stay shared
// with tcp mode. Server connections are ServerConn objects with their own slots (http_conn.hh),
// reused across client sessions through per-server idle lists (`http-reuse`).
//
// One transaction at a time per client connection (pipelined requests wait in the receive
// queue, unparsed): idle -> head (request head copied into a pool block, nothing forwarded)
// -> rules, monitor-uri, use_backend, backend rules, forwardfor -> a server connection (pool or
// connect) -> the head serialised into one send, the body streamed from the receive buffers as
// llhttp frames it -> the response head parsed the same way, response rules, streamed back ->
// transaction end (log, connection back to the pool) -> idle or close. An accepted Upgrade
// (101) hands both sockets to the tcp relay (`timeout tunnel`).
//
// Buffers: received bytes stay in the worker's provided buffers (the session's c2s queue, the
// connection's `in` queue) and body bytes are sent from there; only heads are copied, into
// BlockPool blocks held while the transaction runs. An idle keep-alive connection holds none.

#include <cstdint>
#include <memory>
#include <vector>

#include <liburing.h>

#include "core/slab.hh"
#include "health/observer.hh"
#include "proxy/access_log.hh"
#include "proxy/http_conn.hh"
#include "proxy/http_message.hh"
#include "proxy/http_parser.hh"
#include "proxy/http_pool.hh"
#include "proxy/tcp_session.hh"

namespace skjold::proxy {

class WorkerRuntime;
class PrometheusExporter;

// Room kept free in a head block for rewrites (HAProxy's tune.maxrewrite default): a head may
// use the rest of tune.bufsize.
inline constexpr std::uint32_t kMaxRewrite = 1024;
inline constexpr std::uint32_t head_limit(std::uint32_t bufsize) noexcept {
    return bufsize > 2 * kMaxRewrite ? bufsize - kMaxRewrite : bufsize / 2;
}

// Bytes waiting to go out on one socket: a serialised head (a pool block, or a page that lives
// in the Snapshot), sent before any body byte from the receive queue.
struct Outbound {
    char* block = nullptr;          // pool block to release once sent (null: `data` is not ours)
    const char* data = nullptr;
    std::uint32_t len = 0, off = 0;
    int page = -1;                  // a Prometheus page `data` points into, released with it
    bool pending() const noexcept { return off < len; }
};

enum class HttpPhase : std::uint8_t {
    idle,          // keep-alive: waiting for the first byte of a request
    head,          // receiving the request head
    connecting,    // waiting for a new server connection (or a retry delay)
    exchange,      // request forwarded / response coming back
    local_reply,   // sending an answer skjold made (error page, deny, return, redirect, monitor)
    tunnel_wait,   // 101 accepted: waiting for every operation to settle before the handoff
    draining,      // response sent, write side shut: reading until the client closes
};

struct HttpSession {
    std::uint32_t slot = 0;
    std::uint32_t owner = kNoSlot;              // TcpSession slot
    HttpPhase phase = HttpPhase::idle;
    HttpParser req_parser{HttpParser::Type::request};
    HttpParser res_parser{HttpParser::Type::response};
    HttpMessage req, res;
    char* req_block = nullptr;
    char* res_block = nullptr;
    Outbound to_client, to_server;
    bool client_send_inflight = false, client_send_body = false;
    bool server_send_inflight = false, server_send_body = false;

    std::uint32_t conn = kNoSlot;               // ServerConn carrying this transaction
    std::uint32_t own_conn = kNoSlot;           // private connection kept between requests
    std::uint64_t req_fwd = 0;                  // parsed request bytes at the head of c2s.q, to send
    std::uint64_t res_fwd = 0;                  // parsed response bytes at the head of conn.in, to send

    // transaction state
    bool req_parsed = false;                    // the request message ended (llhttp)
    bool req_sent = false;                      // ... and every byte of it went to the server
    bool res_started = false;                   // some response byte went to the client
    bool res_head_done = false;                 // the final response head was handled
    bool res_parsed = false;
    bool upgrade_req = false;                   // the request asks for a protocol switch
    bool head_req = false;                      // HEAD: the response has no body
    bool client_close = false;                  // close the client connection after this response
    bool conn_reusable = false;                 // the server connection may carry another request
    bool reused = false;                        // the request went on an idle connection
    bool retryable = false;                     // safe to resend on a new connection
    bool redispatched = false;
    bool server_close = false;                  // option httpclose / http-server-close: server side closes
    bool got_response = false;                  // some byte of a response came from the server
    bool logged = false;
    bool client_eof = false;
    int retries_left = 0;
    int retry_server = -1;                      // the server a delayed connect retry goes to
    int routed_backend = -1, routed_server = -1;   // for the log and error pages (s.backend/server are
                                                   // the live counts, cleared when the server side ends)
    int status = -1;                            // the status sent to the client (log)
    std::uint32_t requests = 0;                 // completed transactions on this connection
    std::uint64_t bytes_out = 0;                // response bytes sent to the client (%B)
    std::uint64_t bytes_in = 0;                 // request bytes received (%U)

    // Times (worker monotonic ms) for the log and timeouts.
    std::uint64_t t_accept = 0, t_idle = 0, t_start = 0, t_head = 0, t_assigned = 0, t_connected = 0,
                  t_sent = 0, t_res_head = 0, t_end_override = 0;
    std::int64_t date_us = 0;                   // wall clock at the first request byte
    std::uint64_t last_client = 0, last_server = 0;
    TermCause term_cause = TermCause::none;
    TermPhase term_phase = TermPhase::none;
};

class HttpEngine {
public:
    explicit HttpEngine(WorkerRuntime& rt);
    ~HttpEngine();
    HttpEngine(const HttpEngine&) = delete;
    HttpEngine& operator=(const HttpEngine&) = delete;

    // --- from WorkerRuntime -------------------------------------------------------------
    // The client connection is accepted (and its PROXY header read): start HTTP on it.
    void start(TcpSession& s) noexcept;
    // A receive completion on the client socket (buffer already queued in s.c2s.q).
    void on_client_recv(TcpSession& s, const io_uring_cqe& cqe) noexcept;
    void on_client_sent(TcpSession& s, int res) noexcept;
    void on_timer(TcpSession& s) noexcept;
    // The session aborts: drop the server connection it holds (its own ops are cancelled by
    // the runtime).
    void on_abort(TcpSession& s) noexcept;
    // The session slot is about to be released (nothing in flight): free the HTTP state.
    void release(TcpSession& s) noexcept;
    void on_conn_completion(std::uint8_t op, std::uint32_t slot, std::uint32_t gen, const io_uring_cqe& cqe) noexcept;
    void on_conn_timer(ServerConn& c) noexcept;
    // The backend queue (worker_queue.cc): a waiting transaction got `server`, or the queue gave
    // up on it (timeout queue, or no usable server left): 503.
    void serve_queued(TcpSession& s, int server) noexcept;
    void queue_failed(TcpSession& s, bool timed_out) noexcept;
    void after_batch() noexcept;
    // Graceful stop: idle connections close, busy ones close after their response.
    // Stop: pooled server connections close; busy sessions finish their transaction. Idle
    // keep-alive clients close now, or with graceful_idle (a reload retiring this generation)
    // after kRetireIdleGraceMs, so a request already on its way is still answered (with
    // Connection: close) instead of meeting a closed connection.
    void stop(bool graceful_idle) noexcept;
    static constexpr std::uint64_t kRetireIdleGraceMs = 1000;
    bool idle() const noexcept { return conns_.in_use() == 0; }
    std::uint32_t sessions() const noexcept { return sessions_.in_use(); }

private:
    // Passive health (`observe layer4|layer7`): one outcome of server `server` of `backend`,
    // queued lock-free to the checker thread (health/observer.hh). Defined in http_conn.cc.
    void observe(int backend, int server, health::ObserveEvent ev) noexcept;
    // http_session.cc: the request side and the pump
    HttpSession& hs(TcpSession& s) noexcept { return sessions_[s.http]; }
    TcpSession& ts(HttpSession& h) noexcept;
    void pump(TcpSession& s, HttpSession& h) noexcept;
    bool begin_request(TcpSession& s, HttpSession& h) noexcept;
    bool parse_request_head(TcpSession& s, HttpSession& h) noexcept;
    // Feeds `p` the queued bytes after the first `skip`, buffer by buffer, up to its next event.
    HttpParser::Step parse_queue(core::BufferQueue& q, std::uint64_t skip, HttpParser& p) noexcept;
    // Copies up to `fwd` bytes from the head of `q` into out (at most cap) and consumes them.
    std::uint32_t take_from_queue(core::BufferQueue& q, std::uint64_t& fwd, char* out, std::uint32_t cap) noexcept;
    void on_request_head(TcpSession& s, HttpSession& h) noexcept;
    bool run_request_rules(TcpSession& s, HttpSession& h, const conf::Proxy& px) noexcept;
    bool choose_backend(TcpSession& s, HttpSession& h) noexcept;
    void prepare_request(TcpSession& s, HttpSession& h) noexcept;
    void assign_server(TcpSession& s, HttpSession& h, int avoid) noexcept;
    void use_server(TcpSession& s, HttpSession& h, int srv, bool fresh) noexcept;
    void send_request(TcpSession& s, HttpSession& h, ServerConn& c) noexcept;
    void forward_request_body(TcpSession& s, HttpSession& h) noexcept;
    void kick_server_send(TcpSession& s, HttpSession& h) noexcept;
    void on_server_sent(TcpSession& s, HttpSession& h, ServerConn& c, int res) noexcept;
    void kick_client_send(TcpSession& s, HttpSession& h) noexcept;
    void reply_error(TcpSession& s, HttpSession& h, int status, TermCause cause, TermPhase phase) noexcept;
    void reply_local(TcpSession& s, HttpSession& h, std::size_t len, bool close, int status) noexcept;
    // `http-request use-service prometheus-exporter` of `px` matched: answer with the page.
    void serve_prometheus(TcpSession& s, HttpSession& h, const conf::Proxy& px) noexcept;
    void arm_timer(TcpSession& s, HttpSession& h) noexcept;
    void close_client(TcpSession& s, HttpSession& h) noexcept;
    void abort(TcpSession& s, HttpSession& h, TermCause cause, TermPhase phase) noexcept;
    bool acquire_out(Outbound& o) noexcept;
    void release_out(Outbound& o) noexcept;
    // The HttpSession's blocks and buffers back to the pools, its slot back to the slab, and `s`
    // no longer points at it: the end of release() and of try_handoff() (http_timeouts.cc).
    void free_session(TcpSession& s, HttpSession& h) noexcept;
    void maybe_rearm_client(TcpSession& s) noexcept;

    // http_response.cc: the response side, transaction end, log record
    void pump_response(TcpSession& s, HttpSession& h, ServerConn& c) noexcept;
    void on_response_head(TcpSession& s, HttpSession& h, ServerConn& c) noexcept;
    void on_server_gone(TcpSession& s, HttpSession& h, ServerConn& c) noexcept;
    void finish_transaction(TcpSession& s, HttpSession& h) noexcept;
    void skip_request_rest(TcpSession& s, HttpSession& h) noexcept;
    void end_server_side(TcpSession& s, HttpSession& h, bool keep_conn) noexcept;
    void start_tunnel(TcpSession& s, HttpSession& h, ServerConn& c) noexcept;
    void try_handoff(TcpSession& s, HttpSession& h) noexcept;
    void count_status(TcpSession& s, HttpSession& h, int status) noexcept;
    void log_transaction(TcpSession& s, HttpSession& h) noexcept;
    void reset_transaction(HttpSession& h) noexcept;

    // http_conn.cc: server connections and the idle pools
    ServerConn* conn_of(HttpSession& h) noexcept;
    HttpSession* owner_of(ServerConn& c, TcpSession*& s) noexcept;
    ServerConn* take_idle(int backend, int server, bool proven_only) noexcept;
    ServerConn* new_conn(TcpSession& s, int backend, int server) noexcept;
    void connect_conn(ServerConn& c) noexcept;
    void on_connected(ServerConn& c, int res) noexcept;
    void connect_failed(TcpSession& s, HttpSession& h) noexcept;
    void arm_conn_recv(ServerConn& c) noexcept;
    void on_conn_recv(ServerConn& c, const io_uring_cqe& cqe) noexcept;
    void on_conn_sent(ServerConn& c, int res) noexcept;
    void conn_send(ServerConn& c, const char* data, std::uint32_t len) noexcept;
    void pool_conn(ServerConn& c) noexcept;
    void unlink_idle(ServerConn& c) noexcept;
    void close_conn(ServerConn& c) noexcept;
    void release_conn_if_idle(ServerConn& c) noexcept;
    void cancel_conn_recv(ServerConn& c) noexcept;
    std::uint64_t conn_udata(const ServerConn& c, std::uint8_t op) const noexcept;
    void conn_ready(ServerConn& c, TcpSession& s, HttpSession& h) noexcept;

    // http_conn_tls.cc: TLS to servers (`server ... ssl`)
    TlsClientContext* server_tls_context(int backend, int server) noexcept;
    void start_conn_tls(ServerConn& c) noexcept;
    void drive_conn_handshake(ServerConn& c) noexcept;
    void conn_tls_failed(ServerConn& c, const char* why, health::ObserveEvent ev) noexcept;
    void on_conn_tls_recv(ServerConn& c, const io_uring_cqe& cqe, bool more) noexcept;
    void conn_tls_input(ServerConn& c) noexcept;
    void conn_tls_flush(ServerConn& c) noexcept;
    void conn_tls_send(ServerConn& c, const char* data, std::uint32_t len) noexcept;
    void on_conn_tls_sent(ServerConn& c, int res) noexcept;
    void conn_borrow(ServerConn& c) noexcept;
    void on_conn_borrowed(ServerConn& c, const io_uring_cqe& cqe) noexcept;
    std::uint32_t& idle_head(int backend, int server) noexcept;

    WorkerRuntime& rt_;
    core::Slab<HttpSession> sessions_;
    core::Slab<ServerConn> conns_;
    BlockPool blocks_;
    // Idle pool heads (ServerConn slots, LIFO through prev/next), by backend then server.
    std::vector<std::vector<std::uint32_t>> idle_heads_;
    std::vector<std::uint32_t> starved_conns_;
    std::uint32_t idle_total_ = 0;   // connections in the idle pools
    bool stopping_ = false;
    bool graceful_idle_ = false;   // stop(true): a reload retired this generation
    char log_line_[8192];   // %r rebuilt for the access log (the line is cut by the log ring anyway)
    std::unique_ptr<PrometheusExporter> prom_;   // made at the first scrape on this worker
};

}  // namespace skjold::proxy
