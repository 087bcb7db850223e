#include "proxy/generation.hh"

#include "proxy/log_sink.hh"
#include "proxy/tls_runtime.hh"

namespace skjold::proxy {

bool Generation::detached() const noexcept {
    for (const auto& rt : runtimes)
        if (!rt->detached()) return false;
    return true;
}

bool Generation::attached() const noexcept {
    for (const auto& rt : runtimes)
        if (!rt->attached() && !rt->detached()) return false;
    return true;
}

std::unique_ptr<Generation> make_generation(unsigned id, std::shared_ptr<const conf::Snapshot> snap,
                                            unsigned nworkers, int global_maxconn,
                                            std::vector<ListenerSpec> listeners,
                                            const std::vector<std::unique_ptr<LogRing>>& rings,
                                            const Generation* prev) {
    auto g = std::make_unique<Generation>();
    g->id = id;
    g->listeners = std::move(listeners);
    Shared& sh = g->sh;
    sh.generation = id;
    sh.snap = snap;
    sh.state = std::make_unique<health::ServerStateTable>(*snap);
    // No window where a server known DOWN or in MAINT looks UP (HAProxy issue 918).
    if (prev != nullptr) sh.state->carry_over(*prev->sh.state);
    sh.nworkers = nworkers;
    sh.observer = std::make_unique<health::Observer>(*snap, nworkers);
    sh.global_maxconn = global_maxconn;
    for (unsigned w = 0; w < nworkers; ++w) sh.stats.push_back(make_worker_stats(*snap));
    for (unsigned w = 0; w < nworkers; ++w) {
        std::vector<WorkerRuntime::ListenerFd> lf;
        for (const auto& l : g->listeners)
            lf.push_back({l.fds[w], l.proxy, !l.addr.is_unix(), snap->proxies[l.proxy].binds[l.bind].accept_proxy,
                          l.bind});   // TLSFRONT: the bind picks its TLS context
        g->runtimes.push_back(std::make_unique<WorkerRuntime>(sh, w, std::move(lf)));
        g->runtimes.back()->set_log_ring(rings[w].get());
    }
    return g;
}

void start_checker(Generation& g, LogDrain& logs) {
    Shared& sh = g.sh;
    health::Checker::Options copt;
    copt.current_sessions = [&sh](int px, int srv) {
        std::uint64_t n = 0;
        for (const auto& ws : sh.stats) n += ws->servers[static_cast<std::size_t>(px)][srv].cur_conn.read();
        return n;
    };
    copt.observer = sh.observer.get();
    g.checker = std::make_unique<health::Checker>(sh.snap, *sh.state, std::move(copt));
    g.checker->start();
    g.stats_view = stats_source(g, logs);
    sh.stats_view.store(&g.stats_view, std::memory_order_release);
}

StatsSource stats_source(Generation& g, LogDrain& logs) {
    StatsSource src;
    src.snap = g.sh.snap;
    src.state = g.sh.state.get();
    src.workers = &g.sh.stats;
    health::Checker* checker = g.checker.get();
    src.check_stats = [checker](int px, int srv) { return checker->stats(px, srv); };
    src.admin = [checker](const health::AdminCommand& c) { return checker->admin(c); };
    src.dropped_logs = [&logs] { return logs.dropped(); };
    if (g.sh.tls != nullptr && !g.sh.tls->workers.empty()) {
        src.tls_totals = [tls = g.sh.tls] {
            TlsTotals t;
            for (const auto& w : tls->workers)
                if (w) w->add_totals(t);
            return t;
        };
    }
    src.nworkers = g.sh.nworkers;
    src.global_maxconn = g.sh.global_maxconn;
    return src;
}

}  // namespace skjold::proxy
