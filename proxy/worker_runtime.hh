#pragma once
// The proxy side of one worker: its listeners, its sessions, its balancers, its counters.
// Owner: the worker thread. The control thread reaches it only through the mailbox
// (messages below) and reads its counters.

#include <atomic>
#include <memory>
#include <vector>

#include "core/mailbox.hh"
#include "core/rate_limit.hh"
#include "core/slab.hh"
#include "core/worker.hh"
#include "proxy/balancer.hh"
#include "proxy/shared.hh"
#include "proxy/tcp_session.hh"
#include "proxy/tls_front.hh"

namespace skjold::proxy {

// io_uring operation codes (UserData::op). Session ops carry the TcpSession slot; kOpConn*
// carry a ServerConn slot of the HttpEngine (mode http).
// The top kHostBits of the op byte name the WorkerRuntime (configuration generation) on this
// worker that owns the operation (WorkerHost dispatches on them); WorkerRuntime::pack() adds them.
inline constexpr unsigned kHostBits = 3;
inline constexpr unsigned kMaxRuntimes = 1u << kHostBits;     // generations alive on one worker
inline constexpr std::uint8_t kOpMask = 0xFF >> kHostBits;     // op codes stay below 32
enum Op : std::uint8_t {
    kOpAccept = 1,     // slot = listener index
    kOpRecvClient = 2,
    kOpRecvServer = 3,
    kOpSendClient = 4,
    kOpSendServer = 5,
    kOpConnect = 6,
    kOpCancel = 7,     // an async cancel we issued for a session
    kOpListenerCancel = 8,
    kOpSendProxy = 9,  // the PROXY protocol header to the server
    kOpConnConnect = 10,
    kOpConnRecv = 11,
    kOpConnSend = 12,
    kOpConnCancel = 13,
    kOpConnBorrow = 14,   // a receive buffer taken for TLS plaintext (tls_stream.hh)
    kOpTlsSendClient = 24,   // TLS termination: ciphertext to the client (tls_front.cc)
    kOpTlsSendServer = 25,   // TLS to a server (mode tcp): ciphertext to the server (tcp_server_tls.cc)
    kOpTlsBorrowServer = 26, // TLS to a server (mode tcp): a receive buffer for plaintext (tls_stream.hh)
};

// Backpressure: stop receiving on a side once this much waits to be sent on the other side,
// resume below the low mark. Bounds what one session can take from the worker's buffer ring.
inline constexpr std::uint32_t kHighWater = 64 * 1024;
inline constexpr std::uint32_t kLowWater = 16 * 1024;

// The smaller of two timeouts where -1 means "not set".
inline std::int64_t min_set(std::int64_t a, std::int64_t b) noexcept {
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

class HttpEngine;
class LogRing;
class TlsContext;

enum MsgKind : std::uint32_t {
    kMsgStop = 1,        // stop accepting; finish sessions in flight, then leave the loop
    kMsgHardStop = 2,    // abort every session now
    kMsgAdopt = 3,       // reload: ptr = the new generation's WorkerRuntime for this worker
};

// One configuration generation on one worker. A worker thread (WorkerHost) runs the newest
// generation's runtime and, after a reload, the older ones until their sessions end; all of
// them share the thread's core::Worker (ring, buffers, timers). Built by the control thread,
// attached and driven on the worker thread, detached there once finished, then freed by the
// control thread.
class WorkerRuntime final {
public:
    struct ListenerFd {
        int fd = -1;
        int proxy = -1;
        bool owned = false;       // this worker closes it at stop (a shared unix fd: the process does)
        bool accept_proxy = false;
        int bind = -1;            // index into Proxy::binds (picks the bind's TLS context)
    };
    WorkerRuntime(Shared& shared, unsigned index, std::vector<ListenerFd> listeners);
    ~WorkerRuntime();

    // On the worker thread: join the loop as host slot `slot` (arms the accepts).
    void attach(core::Worker& w, std::uint8_t slot) noexcept;
    // On the worker thread, after a reload: stop accepting (listeners the newer generation
    // kept are left open for it), let idle keep-alive clients go, finish what is in flight.
    void retire(const WorkerRuntime& successor) noexcept;
    // On the worker thread once finished(): drop what lives on the ring; the control thread
    // may free this object once detached() is true.
    void detach() noexcept;
    bool attached() const noexcept { return state_.load(std::memory_order_acquire) == 1; }
    bool detached() const noexcept { return state_.load(std::memory_order_acquire) == 2; }
    bool owns_listener_fd(int fd) const noexcept;

    // Called by the WorkerHost (core::Worker::Handler's calls, dispatched by host slot).
    void on_completion(const io_uring_cqe& cqe) noexcept;
    void on_message(const core::Message& m) noexcept;
    void on_timer(core::TimerNode* node) noexcept;
    void after_batch() noexcept;
    bool finished() const noexcept;

    // user_data for an operation of this runtime (the host slot in the op's top bits).
    std::uint64_t pack(std::uint8_t op, std::uint32_t slot, std::uint32_t gen) const noexcept {
        return core::UserData::pack(static_cast<std::uint8_t>(op | (host_slot_ << (8 - kHostBits))), slot, gen);
    }
    // Marks a timer as this runtime's (call when its owner's slot is initialised).
    void tag(TaggedTimer& t) const noexcept { t.host = host_slot_; }

    // Used by the session's FetchContext.
    Shared& shared() noexcept { return shared_; }
    // This worker's access-log ring (null: not wired yet; the HTTP engine then logs nothing).
    LogRing* log_ring() noexcept { return log_ring_; }
    void set_log_ring(LogRing* ring) noexcept { log_ring_ = ring; }

private:
    friend class HttpEngine;   // mode http drives TcpSessions and reuses the relay for tunnels

    struct Listener {
        int fd = -1;
        int proxy = -1;
        bool owned = false;
        bool accept_proxy = false;
        bool armed = false;       // multishot accept in flight
        bool closing = false;
        bool paused = false;      // frontend maxconn reached
        bool backoff = false;     // out of descriptors: retried by the timer
        TaggedTimer retry{{}, TimerOwner::listener};
        int bind = -1;
        TlsContext* tls = nullptr;   // `bind ... ssl`: this worker's context (resolved at first accept)
        bool tls_resolved = false;
    };

    void arm_accept(int li) noexcept;
    void on_accept(int li, const io_uring_cqe& cqe) noexcept;
    void start_session(int li, int fd) noexcept;
    bool choose_backend(TcpSession& s) noexcept;
    void route_session(TcpSession& s) noexcept;
    void on_proxy_header_data(TcpSession& s) noexcept;
    void send_proxy_header(TcpSession& s) noexcept;
    void send_proxy_rest(TcpSession& s) noexcept;
    void on_proxy_sent(TcpSession& s, int res) noexcept;
    // Common start of a send completion: false when the session is going away (handled).
    bool send_completed(TcpSession& s, int res) noexcept;
    void connect_server(TcpSession& s, int avoid, int force = -1) noexcept;
    void listener_down(Listener& l) noexcept;
    void on_connect(TcpSession& s, int res) noexcept;
    void connect_failed(TcpSession& s) noexcept;
    void start_relay(TcpSession& s) noexcept;
    void arm_recv(TcpSession& s, bool client_side) noexcept;
    void kick_send(TcpSession& s, bool to_server) noexcept;
    void on_recv(TcpSession& s, bool client_side, const io_uring_cqe& cqe) noexcept;
    void on_send(TcpSession& s, bool to_server, int res) noexcept;
    void maybe_finish(TcpSession& s) noexcept;
    void refused_proxy_header(TcpSession& s, const char* why) noexcept;
    void abort_session(TcpSession& s) noexcept;
    void release_if_idle(TcpSession& s) noexcept;
    void arm_idle_timer(TcpSession& s) noexcept;
    void cancel_op(TcpSession& s, std::uint8_t op) noexcept;
    void resume_listeners() noexcept;
    bool over_limit(const Listener& l) const noexcept;
    void pause_listener(int li) noexcept;
    void cancel_accept(int li) noexcept;   // ends a multishot accept; its last CQE says when
    std::uint64_t udata(const TcpSession& s, std::uint8_t op) const noexcept;
    void log_tcp_session(TcpSession& s) noexcept;
    // Termination state for the tcplog line: the first call wins (access_log.hh letters).
    void set_term(TcpSession& s, char cause, char phase) noexcept;

    // TLS to servers in mode tcp (`server ... ssl`; tcp_server_tls.cc): the session's srv_tls.
    TlsClientContext* server_tls_context(int backend, int server) noexcept;
    // The server connection is up (and its PROXY header sent): TLS handshake, else the relay.
    void server_side_ready(TcpSession& s) noexcept;
    void drive_server_handshake(TcpSession& s) noexcept;
    void server_tls_failed(TcpSession& s, const char* why, health::ObserveEvent ev) noexcept;
    void finish_server_tls_failure(TcpSession& s) noexcept;
    void on_server_tls_recv(TcpSession& s, const io_uring_cqe& cqe) noexcept;
    void server_tls_input(TcpSession& s) noexcept;
    void server_tls_flush(TcpSession& s) noexcept;
    void server_tls_send(TcpSession& s) noexcept;
    void on_server_tls_sent(TcpSession& s, int res) noexcept;
    void server_tls_borrow(TcpSession& s) noexcept;
    void on_server_tls_borrowed(TcpSession& s, const io_uring_cqe& cqe) noexcept;
    void shutdown_server_write(TcpSession& s) noexcept;

    // The backend queue (server maxconn + timeout queue; backend_queue.hh, worker_queue.cc).
    // Both modes: tcp's connect_server and http's assign_server call these when every usable
    // server is full, or when others already wait (FIFO: a newcomer does not overtake them).
    bool queue_waiting(int backend) const noexcept { return !queues_[static_cast<std::size_t>(backend)].empty(); }
    // Joins s.backend's queue and arms the session timer for `timeout queue` (default: timeout
    // connect; neither set: waits for a slot without limit, as HAProxy).
    void enqueue(TcpSession& s) noexcept;
    // Leaves the queue (served, expired or aborted); nothing if not queued.
    void dequeue(TcpSession& s) noexcept;
    std::int64_t queue_timeout(int backend) const noexcept;
    // Queue time (ms) of a session assigned `server` of `backend`, for `show stat` qtime.
    void note_queue_time(int backend, int server, std::uint64_t waited) noexcept;
    // After each batch: the first waiting sessions get the slots freed meanwhile.
    void serve_queues() noexcept;
    // tcp mode: the queue gave up on the session (timeout queue, or no usable server left).
    void queue_failed(TcpSession& s, bool timed_out) noexcept;

    // TLS termination (`bind ... ssl`; proxy/tls_front.cc, tls_front.hh).
    // After accept (and the PROXY header): the handshake on a TLS listener, else route_session.
    void start_client(TcpSession& s) noexcept;
    TlsContext* listener_tls(int li) noexcept;
    void tls_begin(TcpSession& s, TlsContext& ctx) noexcept;
    // Top of on_recv for a TLS client: turns a ciphertext CQE into a plaintext one (res = bytes
    // queued, no buffer flag); false when nothing is left for on_recv to do (handled here).
    bool tls_on_recv(TcpSession& s, io_uring_cqe& cqe) noexcept;
    // Feeds buffer `bid` [off, off+len) to the session's TlsConn; queues (or holds) the
    // plaintext in place. Plaintext bytes queued, or -1 when the session failed (aborted).
    int tls_input(TcpSession& s, std::uint16_t bid, std::uint32_t off, std::uint32_t len) noexcept;
    void tls_established(TcpSession& s) noexcept;
    void tls_failed(TcpSession& s, const char* why) noexcept;
    // A client send through TLS (the relay's kick_send and HttpEngine::kick_client_send): its
    // completion comes back to on_send / HttpEngine::on_client_sent with plaintext bytes.
    void tls_send(TcpSession& s, const void* data, std::uint32_t len) noexcept;
    void tls_pump(TcpSession& s) noexcept;
    void on_tls_sent(TcpSession& s, int res) noexcept;
    void client_send_done(TcpSession& s, int res) noexcept;
    // FIN toward the client: with TLS after a close_notify.
    void shutdown_client_write(TcpSession& s) noexcept;
    void tls_release(TcpSession& s) noexcept;

    Shared& shared_;
    const conf::Snapshot& snap_;
    unsigned index_;
    core::Worker* worker_ = nullptr;                     // the host's loop, while attached
    std::uint8_t host_slot_ = 0;
    bool retiring_ = false;                              // a newer generation took over
    std::atomic<int> state_{0};                          // 0 built, 1 attached, 2 detached
    std::vector<Listener> listeners_;
    core::Slab<TcpSession> sessions_;
    std::vector<std::unique_ptr<Balancer>> balancers_;   // by proxy index; null for frontends
    WorkerStats& stats_;
    std::vector<int> fe_limit_;                          // per proxy: this worker's maxconn share
    int global_limit_ = 0;                               // this worker's share of global maxconn
    std::vector<std::uint32_t> starved_;                 // sessions waiting for receive buffers
    std::unique_ptr<HttpEngine> http_;                   // created on the worker thread
    LogRing* log_ring_ = nullptr;
    bool stopping_ = false;
    core::LogRateLimit refused_proxy_log_{1000, 1};      // "refused PROXY header" lines
    // Sessions waiting for a server slot, by proxy index (empty for frontends); sized from the
    // Snapshot here so that queueing never allocates.
    std::vector<BackendQueue> queues_ = std::vector<BackendQueue>(snap_.proxies.size());
    std::uint32_t queued_total_ = 0;                     // over every queue of this runtime
    TlsSlots tls_slots_;                                 // TLS state by session slot (tls_front.hh)
    core::LogRateLimit tls_fail_log_{1000, 1};           // "TLS handshake failed" lines
};

}  // namespace skjold::proxy
