#pragma once
// The Checker's insides, shared by its two source files (not for use outside health/):
//   checker.cc        the thread, scheduling and the check I/O (epoll, sockets, timeouts);
//   checker_state.cc  everything that changes server state on that thread: check verdicts,
//                     stats-socket commands, passive observation, slowstart ramps, and the
//                     log lines that go with them.
// Owner of every field: the checker thread, except where a comment says otherwise.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "core/sock_addr.hh"
#include "core/timer_wheel.hh"
#include "health/check_log.hh"
#include "health/check_tls.hh"
#include "health/checker.hh"
#include "health/http_check.hh"

namespace skjold::health {

enum class Phase : std::uint8_t { idle, connecting, handshaking, sending, receiving };

// One checked server. Identity fields are set before the thread starts.
// The TimerNode is either the next check's start (idle) or the running check's deadline.
struct Slot : core::TimerNode {
    int proxy_index = -1, server_index = -1;
    BackendState* backend = nullptr;
    const conf::Proxy* proxy = nullptr;
    const conf::Server* server = nullptr;
    const HttpCheck* http = nullptr;   // null: TCP connect check
    CheckTls* tls = nullptr;           // checks over TLS (check_tls.hh); null: plain
    SSL* ssl = nullptr;                // the running check's TLS connection
    core::SockAddr target{};
    conf::Millis connect_bound = 0;    // connecting may take this long
    conf::Millis check_timeout = conf::kUnset;   // once connected (timeout check), else inter caps all

    Phase phase = Phase::idle;
    int fd = -1;
    bool registered = false;
    bool force_fast = false;           // observe asked for fastinter until the next check ends
    std::uint32_t gen = 0;
    std::uint64_t start_ns = 0, start_ms = 0;
    std::size_t sent = 0;
    char* rx = nullptr;
    std::size_t rx_cap = 0, rx_len = 0;
    CheckStatus last_status = CheckStatus::ini;
    int observed_errors = 0;           // consecutive errors seen by `observe`
    CheckStats stats;
};

// slowstart: the next weight step of one server (any server with `slowstart`, checked or not).
struct RampNode : core::TimerNode {
    int proxy_index = -1, server_index = -1;
};

struct Checker::Impl {
    Impl(std::shared_ptr<const conf::Snapshot> s, ServerStateTable& t, Options o);

    std::shared_ptr<const conf::Snapshot> snap;
    ServerStateTable& table;
    Options opt;
    std::vector<std::unique_ptr<HttpCheck>> http_checks;   // by proxy index; null: none
    std::vector<std::unique_ptr<CheckTls>> tls_checks;     // one per slot checked over TLS
    std::unique_ptr<Slot[]> slots;   // atomics inside: not movable, so no vector
    std::size_t nslots = 0;
    std::unique_ptr<RampNode[]> ramps;
    std::size_t nramps = 0;
    std::vector<std::size_t> proxy_base;   // proxy -> first global server index
    std::vector<int> slot_of;        // global server index -> slot, or -1
    std::vector<int> ramp_of;        // global server index -> ramp node, or -1
    std::unique_ptr<char[]> rx_arena;
    std::unique_ptr<core::TimerWheel> wheel;
    int ep = -1, wake = -1;
    std::thread thread;
    std::atomic<bool> stopping{false};
    std::uint64_t rng = 0;
    CheckLogLine line;

    // admin(): callers take admin_mutex (control-plane threads only; the checker thread never
    // takes it), post the command and wait on admin_state: 0 idle, 1 posted, 2 applied.
    std::mutex admin_mutex;
    bool running = false;            // guarded by admin_mutex
    const AdminCommand* admin_cmd = nullptr;
    core::Result<void> admin_result;
    std::atomic<int> admin_state{0};

    std::span<Slot> span() noexcept { return {slots.get(), nslots}; }
    Slot* slot(int proxy_index, int server_index) noexcept;
    void build();

    // checker.cc: thread and I/O
    void schedule_first(std::uint64_t now) noexcept;
    void run() noexcept;
    void on_timer(core::TimerNode* node, std::uint64_t now) noexcept;
    void on_io(Slot& s, std::uint32_t events) noexcept;
    void start_check(Slot& s, std::uint64_t now) noexcept;
    void on_connected(Slot& s) noexcept;
    void do_handshake(Slot& s) noexcept;
    // A TLS call wants the socket readable or writable: wait for it. False: another error.
    bool tls_wait(Slot& s, int ssl_error) noexcept;
    void do_send(Slot& s) noexcept;
    void do_recv(Slot& s) noexcept;
    bool watch(Slot& s, std::uint32_t events) noexcept;
    void close_fd(Slot& s) noexcept;
    void finish(Slot& s, CheckStatus status, int code, std::string_view desc) noexcept;
    void schedule_next(Slot& s, std::uint64_t now) noexcept;
    // Moves the next check earlier (never later) to now + the interval the state asks for.
    void hasten(Slot& s, std::uint64_t now) noexcept;
    conf::Millis jitter(conf::Millis interval) noexcept;
    double random01() noexcept;

    // checker_state.cc: state changes
    // A check verdict (or observe's simulated one) applied to the health counter, logged.
    void apply_verdict(Slot& s, const CheckReport& rep) noexcept;
    core::Result<void> apply_admin(const AdminCommand& cmd, std::uint64_t now) noexcept;
    void serve_admin() noexcept;     // on the checker thread: the posted command, if any
    void drain_observer(std::uint64_t now) noexcept;
    void on_observed(int proxy_index, int server_index, ObserveEvent ev, std::uint64_t now) noexcept;
    void arm_ramp(int proxy_index, int server_index, std::uint64_t now) noexcept;
    void on_ramp(RampNode& r, std::uint64_t now) noexcept;
    void arm_ramps_at_start(std::uint64_t now) noexcept;
    void emit(int proxy_index, core::Level level, std::string_view text) noexcept;
    std::uint64_t sessions(int proxy_index, int server_index) noexcept;
    ServerRef ref(int proxy_index, int server_index) const noexcept;
};

// strerror() text in English whatever the locale, as HAProxy logs it ("Connection refused"),
// and without strerror()'s shared buffer (this runs on its own thread).
const char* errno_text(int e) noexcept;

}  // namespace skjold::health
