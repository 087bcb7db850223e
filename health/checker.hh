#pragma once
// Active health checks for every server with `check` in one Snapshot, on one thread of its own.
//
// Threading: start() spawns the checker thread; it owns an epoll instance, nonblocking
// sockets, a timer wheel and every per-server check slot (all allocated in the constructor:
// no allocation per check). It is the writer of the server health in the ServerStateTable
// (set_health*) and of the CheckStats; workers and the stats socket read those lock-free.
// stop() wakes it through an eventfd and joins it; in-flight checks are abandoned and their
// sockets closed, so stop() never waits on a server.
//
// Why epoll and not an io_uring: a check is one short connection per server and interval, so
// readiness costs nothing here, and closing a socket ends everything in flight at once; with a
// ring, each abandoned operation would first have to be cancelled and its completion awaited
// before its buffer could be reused.
//
// Semantics are HAProxy's (CONFIG.md, health_counter.hh, http_check.hh, check_log.hh):
//   - TCP connect check by default, `option httpchk` request/expect otherwise;
//   - target: `addr` if given else the server address; port: `port` if given else the
//     server's port (src/check.c srv_check_healthcheck_port());
//   - timeouts (configuration.txt, "timeout check"): with `timeout check`, connecting is
//     bounded by min(timeout connect, inter) and, once connected, the rest by timeout check;
//     without it, inter bounds the whole check. Connect not done in time: L4TOUT; connected
//     HTTP check without a full answer in time: L7TOUT;
//   - scheduling (src/check.c start_checks(), start_check_task(), process_chk_conn()): the
//     first check of the i-th of n checked servers runs at max(mininter, interval) * i / n,
//     where mininter is the smallest interval of at least 1 s (0 if none); the next check runs
//     interval (+/- spread-checks percent, at random) after the previous one ended, the
//     interval chosen by the health counter after that check (health_counter.hh);
//   - servers in MAINT and disabled backends are not checked;
//   - the connection is closed with a reset (SO_LINGER 0), as HAProxy does by default, so the
//     checker leaves no TIME_WAIT behind.
//
// The checker thread is also the single writer for everything else that changes server state
// at run time, so the workers' lock-free view has one writer:
//   - admin(): the stats socket's commands (health/admin_command.hh), applied on this thread
//     while the caller waits;
//   - passive observation (health/observer.hh): consecutive errors and on-error;
//   - slowstart: the ramping weight, recomputed every slowstart_step() (>= 100 ms).
// The thread runs when there is something to check, ramp (`slowstart`) or observe; otherwise
// admin() applies commands on its caller's thread.
//
// Owner: the process (proxy/process.cc) creates it after the ServerStateTable and destroys it
// before the table and the Snapshot.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "conf/snapshot_types.hh"
#include "core/log.hh"
#include "core/result.hh"
#include "health/admin_command.hh"
#include "health/check_status.hh"
#include "health/observer.hh"
#include "health/server_state.hh"

namespace skjold::health {

class Checker {
public:
    struct Options {
        // Where the transition and health check lines go: HAProxy sends them to the backend's
        // own `log` targets (send_log(s->proxy, ...)) at the level given here. Default:
        // core::log_write(). Called on the checker thread; must not throw.
        std::function<void(int proxy_index, core::Level, std::string_view)> log;
        // Sessions currently on a server, for "N sessions active" in the DOWN line
        // (summed over the workers by the caller). Default: 0. Called on the checker thread;
        // must not throw.
        std::function<std::uint64_t(int proxy_index, int server_index)> current_sessions;
        // Seed of the spread-checks jitter; 0 picks one from the clock.
        std::uint64_t seed = 0;
        // The workers' passive-observation reports (`observe`); null: none. Must outlive the
        // Checker; built on the same Snapshot.
        Observer* observer = nullptr;
    };

    Checker(std::shared_ptr<const conf::Snapshot> snap, ServerStateTable& table);
    Checker(std::shared_ptr<const conf::Snapshot> snap, ServerStateTable& table, Options opt);
    ~Checker();   // stops the thread if it runs
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    // Spawns the thread and returns at once. A failure to create the epoll/eventfd or the thread
    // is logged (alert) and leaves the servers in their start state (UP), as without checks.
    void start();
    // Asks the thread to stop and joins it: bounded by one loop turn, never by a server.
    void stop();

    // Applies a stats-socket command (health/admin_command.hh) on the checker thread and returns
    // once it is applied; without a running thread (not started, stopped, or start failed) it
    // applies it on the caller's thread. Callable from any thread but the checker's; callers are
    // serialised. The change is logged as HAProxy logs it ("Server b/s is going DOWN for
    // maintenance. ...") and the generation moves so every worker sees it.
    // Errors (Error::detail holds HAProxy's CLI answer, without the newline):
    //   Errc::not_found         "No such backend." / "No such server." (indexes out of range)
    //   Errc::invalid_argument  "'set server <srv> health' expects 'up', 'stopping', or 'down'."
    //                           "Relative weight must be positive." / "Absolute weight can only be
    //                           between 0 and 256 inclusive." /
    //                           "Backend is using a static LB algorithm and only accepts weights
    //                           '0%' and '100%'."
    //   Errc::unsupported       "Health check was not configured on this server, cannot enable."
    // Commands that change nothing (already in that state) succeed silently, as HAProxy.
    core::Result<void> admin(const AdminCommand& cmd);

    // Number of servers being checked.
    int checked_servers() const noexcept;
    // The last check of a server, or null if it has no check (or the indexes are out of range).
    // Readable from any thread while the Checker exists.
    const CheckStats* stats(int proxy_index, int server_index) const noexcept;

    struct Impl;   // health/checker.cc; public so the helpers there can name it

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace skjold::health
