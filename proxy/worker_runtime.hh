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

namespace skjold::proxy {

// io_uring operation codes (UserData::op). Session ops carry the TcpSession slot; kOpConn*
// carry a ServerConn slot of the HttpEngine (mode http).
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

enum MsgKind : std::uint32_t {
    kMsgStop = 1,        // stop accepting; finish sessions in flight, then leave the loop
    kMsgHardStop = 2,    // abort every session now
};

class WorkerRuntime final : public core::Worker::Handler {
public:
    struct ListenerFd {
        int fd = -1;
        int proxy = -1;
        bool owned = false;       // this worker closes it at stop (a shared unix fd: the process does)
        bool accept_proxy = false;
    };
    WorkerRuntime(Shared& shared, unsigned index, std::vector<ListenerFd> listeners);
    ~WorkerRuntime();

    // Runs on the worker's own thread: ring set-up, then the loop until stopped.
    // Sets ready() (or failed()) once set-up is done.
    void thread_main(int cpu) noexcept;
    core::Mailbox& mailbox() noexcept { return mailbox_; }
    enum class Phase : int { starting, running, failed, done };
    Phase phase() const noexcept { return static_cast<Phase>(phase_.load(std::memory_order_acquire)); }
    const std::string& failure() const noexcept { return failure_; }

    // core::Worker::Handler
    void on_completion(const io_uring_cqe& cqe) noexcept override;
    void on_message(const core::Message& m) noexcept override;
    void on_timer(core::TimerNode* node) noexcept override;
    void after_batch() noexcept override;
    bool finished() const noexcept override;

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

    Shared& shared_;
    const conf::Snapshot& snap_;
    unsigned index_;
    core::Mailbox mailbox_;
    std::unique_ptr<core::Worker> worker_;
    std::vector<Listener> listeners_;
    core::Slab<TcpSession> sessions_;
    std::vector<std::unique_ptr<Balancer>> balancers_;   // by proxy index; null for frontends
    WorkerStats& stats_;
    std::vector<int> fe_limit_;                          // per proxy: this worker's maxconn share
    int global_limit_ = 0;                               // this worker's share of global maxconn
    std::vector<std::uint32_t> starved_;                 // sessions waiting for receive buffers
    std::unique_ptr<HttpEngine> http_;                   // created on the worker thread
    LogRing* log_ring_ = nullptr;
    std::atomic<int> phase_{0};
    std::string failure_;
    bool stopping_ = false;
    core::LogRateLimit refused_proxy_log_{1000, 1};      // "refused PROXY header" lines
};

}  // namespace skjold::proxy
