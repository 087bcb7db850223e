#pragma once
// One adopted configuration: its Snapshot and everything built from it that the workers and
// the control thread use while it is alive: the server state table, the per-worker counters,
// the listening sockets, one WorkerRuntime per worker and the health checker.
//
// Owner: the control thread (proxy/process.cc). The first is built at start; a reload builds
// the next, hands each worker its runtime (kMsgAdopt), and keeps the previous one until every
// one of its runtimes has detached (its last session ended), then frees it. Sessions thus
// finish on the Snapshot they started with, and nothing on the data path is shared between
// generations except the listening sockets the new one kept.

#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "health/checker.hh"
#include "proxy/listener.hh"
#include "proxy/log_ring.hh"
#include "proxy/shared.hh"
#include "proxy/stats_source.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

class LogDrain;

struct Generation {
    unsigned id = 0;                                      // 1 at start, +1 per adopted reload
    Shared sh;
    std::vector<ListenerSpec> listeners;
    std::vector<std::unique_ptr<WorkerRuntime>> runtimes;   // by worker index
    std::unique_ptr<health::Checker> checker;             // null until started; kept once stopped
    StatsSource stats_view;                                // sh.stats_view points here

    // Every runtime has left its worker: the generation may be freed.
    bool detached() const noexcept;
    // Every runtime has joined its worker.
    bool attached() const noexcept;
};

// Builds the shared state and one runtime per worker (not attached yet). `prev`: the running
// generation on reload, whose server health, admin state and weights carry over by name.
std::unique_ptr<Generation> make_generation(unsigned id, std::shared_ptr<const conf::Snapshot> snap,
                                            unsigned nworkers, int global_maxconn,
                                            std::vector<ListenerSpec> listeners,
                                            const std::vector<std::unique_ptr<LogRing>>& rings,
                                            const Generation* prev);

// Starts the health checker thread on the generation's state table, then publishes the
// generation's stats view (sh.stats_view) for the workers' Prometheus pages.
void start_checker(Generation& g, LogDrain& logs);

// What the stats socket reads for this generation.
StatsSource stats_source(Generation& g, LogDrain& logs);

}  // namespace skjold::proxy
