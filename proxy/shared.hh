#pragma once
// What every worker reads and nobody on the data path writes: the Snapshot, the server state
// table (atomics written by the control thread) and every worker's counters (each written by
// its own worker). Owner: the Process, which outlives the workers.

#include <atomic>
#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "health/observer.hh"
#include "health/server_state.hh"
#include "proxy/log_ring.hh"
#include "proxy/tls_server_side.hh"
#include "proxy/worker_stats.hh"

namespace skjold::proxy {

struct TlsGeneration;
struct StatsSource;

struct Shared {
    std::shared_ptr<const conf::Snapshot> snap;
    std::unique_ptr<health::ServerStateTable> state;
    std::vector<std::unique_ptr<WorkerStats>> stats;   // by worker index
    // Access-log rings, by worker index: each written by its worker (log_session), drained by
    // the control thread (LogDrain). Sized once before the workers start.
    std::vector<std::unique_ptr<LogRing>> log_rings;
    // Passive health (`observe`): workers report connect/response outcomes, the checker thread
    // applies error-limit/on-error. Created before the workers, outlives them and the checker.
    std::unique_ptr<health::Observer> observer;
    // `server ... ssl`: each worker's client TLS contexts, by worker index (empty: no server
    // has ssl). Built with the generation on the control thread (build_server_tls).
    std::vector<std::unique_ptr<TlsServerSide>> server_tls;
    unsigned nworkers = 1;
    int global_maxconn = 0;
    // The generation's id (Generation::id): access-log records carry it, so the LogDrain sends
    // a retired generation's lines to that generation's targets for their proxy index.
    std::uint32_t generation = 1;
    // TLS contexts of this configuration, one TlsWorker per worker (proxy/tls_runtime.hh);
    // null or empty when no line uses ssl. Built by build_tls_for_run() before the workers run.
    std::shared_ptr<TlsGeneration> tls;
    // What the stats socket reads for this generation (check results included), for the
    // Prometheus page a worker builds: set once the checker runs, then read-only.
    std::atomic<const StatsSource*> stats_view{nullptr};

    // Sums of every worker's counter, for fe_conn / be_conn and the stats socket.
    std::uint64_t proxy_cur_conn(int proxy) const noexcept {
        std::uint64_t n = 0;
        for (const auto& w : stats) n += w->proxies[proxy].cur_conn.read();
        return n;
    }
};

std::unique_ptr<WorkerStats> make_worker_stats(const conf::Snapshot& snap);

// This worker's share of a limit split across workers (at least 1; 0 stays unlimited).
inline int share_of(int limit, unsigned worker, unsigned nworkers) noexcept {
    if (limit <= 0) return 0;
    int base = limit / static_cast<int>(nworkers);
    int extra = static_cast<int>(worker) < limit % static_cast<int>(nworkers) ? 1 : 0;
    int s = base + extra;
    return s > 0 ? s : 1;
}

}  // namespace skjold::proxy
