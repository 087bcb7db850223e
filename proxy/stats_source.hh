#pragma once
// What the stats socket reads, and the one way it changes server state. Data only.
//
// Owner: the process (proxy/process.cc) fills it; the StatsServer keeps a copy and reads it on
// its own thread while it answers a command. Everything pointed to must outlive that use: the
// control thread replaces the whole view with StatsServer::adopt() (reload), which waits for the
// command in progress, so the old Snapshot, state table and counters may be freed afterwards.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "health/admin_command.hh"
#include "health/server_state.hh"
#include "proxy/worker_stats.hh"

namespace skjold::health {
class Checker;
class CheckStats;
}

namespace skjold::proxy {

// Applies an admin command on the thread that owns server state (health::Checker::admin) and
// returns once it is applied; the error's detail is HAProxy's CLI text.
using StatsAdminFn = std::function<core::Result<void>(const health::AdminCommand&)>;
// The last check of a server, or null when it has none (health::Checker::stats).
using CheckStatsFn = std::function<const health::CheckStats*(int proxy, int server)>;

// TLS handshakes completed since the generation started, summed over the workers: on `bind ...
// ssl` lines (frontend) and `server ... ssl` lines (backend); `resumed` of them needed no key
// computation (a ticket or the session cache). `open`: the generation's TLS connections open
// now, handshake done or not (a gauge).
struct TlsTotals {
    std::uint64_t fe_handshakes = 0, fe_resumed = 0, fe_open = 0;
    std::uint64_t be_handshakes = 0, be_resumed = 0, be_open = 0;
};

struct StatsSource {
    std::shared_ptr<const conf::Snapshot> snap;
    const health::ServerStateTable* state = nullptr;                 // same proxies as snap
    const std::vector<std::unique_ptr<WorkerStats>>* workers = nullptr;   // sized for snap
    CheckStatsFn check_stats;    // empty: no checker (every check shows INI)
    StatsAdminFn admin;          // empty: admin commands answer with an error
    // `show info` DroppedLogs (the logging owner's count; must be safe to call from the stats
    // thread). Empty: 0.
    std::function<std::uint64_t()> dropped_logs;
    // `show info` Ssl* lines (safe to call from the stats thread). Empty: no TLS, all 0.
    std::function<TlsTotals()> tls_totals;
    unsigned nworkers = 1;
    int global_maxconn = 0;      // the effective value (config or derived from ulimit-n)
};

}  // namespace skjold::proxy
