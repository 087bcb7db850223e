#pragma once
// The stats socket's view of the counters: every worker's counters summed (never blocking a
// worker: each counter is one relaxed load), minus the baselines `clear counters all` took,
// plus what only the stats thread can know: rates sampled once a second and their maxima, and
// the UP/DOWN history of whole backends (HAProxy's backend lastchg, chkdown, downtime).
//
// Owner: the StatsServer thread (StatsHistory is not thread-safe). Reset when a new Snapshot is
// adopted, since counters are indexed by proxy and server position.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "proxy/stats_source.hh"
#include "proxy/worker_stats.hh"

namespace skjold::proxy {

// How a counter combines across workers and what `clear counters [all]` does to it.
enum class CounterKind : std::uint8_t {
    cumulative,   // summed; `clear counters all` subtracts a baseline
    gauge,        // summed (current value); never cleared
    maximum,      // summed per-worker maxima; `clear counters` resets it in the workers
    timestamp,    // the largest value of any worker (last_sess)
};

// Proxy counters by position; kProxyFields maps each to its ProxyCounters member.
enum class Pc : std::uint8_t {
    cur_conn, cum_conn, denied_conn, bytes_in, bytes_out, conn_errors, retries, redispatches,
    no_server, timeouts, max_conn, max_queue, cur_queue, lbtot, req_tot,
    hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other,
    failed_req, denied_req, denied_resp, failed_resp, cli_abrt, srv_abrt, intercepted,
    comp_in, comp_out, comp_byp, comp_rsp, internal_errors, connect_attempts, reuse, wrew,
    ctime_sum, ctime_n, rtime_sum, rtime_n, ttime_sum, ttime_n, last_sess,
    qtime_sum, qtime_n,
    count_
};
// Server counters by position; kServerFields maps each to its ServerCounters member.
enum class Sc : std::uint8_t {
    cur_conn, cum_conn, conn_errors, bytes_in, bytes_out, max_conn, lbtot, retries, redispatches,
    failed_resp, cli_abrt, srv_abrt, req_tot,
    hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other,
    connect_attempts, reuse, internal_errors,
    ctime_sum, ctime_n, rtime_sum, rtime_n, ttime_sum, ttime_n, last_sess,
    qtime_sum, qtime_n,
    count_
};

inline constexpr std::size_t kProxyCounterCount = static_cast<std::size_t>(Pc::count_);
inline constexpr std::size_t kServerCounterCount = static_cast<std::size_t>(Sc::count_);

struct ProxySums {
    std::array<std::uint64_t, kProxyCounterCount> v{};
    std::uint64_t operator[](Pc c) const noexcept { return v[static_cast<std::size_t>(c)]; }
    std::uint64_t& operator[](Pc c) noexcept { return v[static_cast<std::size_t>(c)]; }
};
struct ServerSums {
    std::array<std::uint64_t, kServerCounterCount> v{};
    std::uint64_t operator[](Sc c) const noexcept { return v[static_cast<std::size_t>(c)]; }
    std::uint64_t& operator[](Sc c) noexcept { return v[static_cast<std::size_t>(c)]; }
    // Check counters (health::CheckStats), kept here so `clear counters all` can rebase them.
    std::uint64_t chkfail = 0, chkdown = 0;
    std::uint64_t downtime_ms = 0;   // health::ServerState::downtime_ms
};

// Rates (per second, over the last sampled second) and their maxima since start or the last
// `clear counters`.
struct Rate {
    std::uint64_t cur = 0, max = 0;
};
struct ProxyRates {
    Rate sess, conn, req;
};

// A backend's UP/DOWN history as the stats thread saw it (sampled once a second).
struct BackendHistory {
    bool seen = false, up = false;
    std::uint64_t last_change_ms = 0;   // core::monotonic_ms()
    std::uint64_t down_since_ms = 0;    // while down
    std::uint64_t downtime_ms = 0;      // closed DOWN periods
    std::uint64_t chkdown = 0;          // UP -> DOWN transitions
};

struct CounterView {
    std::vector<ProxySums> proxies;                  // by proxy index
    std::vector<std::vector<ServerSums>> servers;    // by proxy index, then server index
    std::vector<ProxyRates> proxy_rates;             // by proxy index
    std::vector<std::vector<Rate>> server_rates;     // session rate, by proxy then server
    std::vector<BackendHistory> backends;            // by proxy index
};

// Process-wide figures for `show info`.
struct ProcessRates {
    Rate conn, sess, req, bytes_out;
    int idle_pct = 100;   // 100 - CPU used by the process / (wall time * workers), last second
    // TLS handshakes (HAProxy's SslRate), of which full ones needing a key computation
    // (SslFrontendKeyRate, SslBackendKeyRate); the share of resumed frontend handshakes over the
    // last sampled second (SslFrontendSessionReuse_pct); completed frontend handshakes since
    // the generation started or `clear counters all` (CumSslConns).
    Rate ssl, ssl_fe_key, ssl_be_key;
    int ssl_reuse_pct = 0;
    std::uint64_t ssl_cum = 0;
    // TLS connections open now, client and server side (CurrSslConns; HAProxy counts both).
    std::uint64_t ssl_cur = 0;
};

// Sums every worker's counters (relaxed loads only).
void sum_counters(const conf::Snapshot& snap, const std::vector<std::unique_ptr<WorkerStats>>& workers,
                  std::vector<ProxySums>& proxies, std::vector<std::vector<ServerSums>>& servers);

// A backend is UP for `show stat` when its usable servers carry weight (HAProxy: tot_weight > 0,
// active servers if any are usable, else backups), or when it has no server at all.
struct BackendWeights {
    int act = 0, bck = 0;          // usable active / backup servers
    int weight = 0, uweight = 0;   // effective / user weight of the servers that carry traffic
    bool up = false;
};
BackendWeights backend_weights(const health::BackendState& b) noexcept;

// The counters as they stand, for a reader that keeps no history (the Prometheus exporter, on
// a worker thread): summed over the workers, with the checker's counters and the servers'
// downtime; no `clear counters all` baseline (Prometheus counters only grow), rates and backend
// history left at 0. Reuses v's storage: no allocation once v has the Snapshot's size. Relaxed
// loads only.
void current_counters(const StatsSource& src, std::uint64_t now_ms, CounterView& v);

class StatsHistory {
public:
    // Resizes for `src` and forgets everything (new Snapshot).
    void reset(const StatsSource& src, std::uint64_t now_ms);
    // Samples rates and backend states when a second or more has passed since the last sample.
    void tick(const StatsSource& src, std::uint64_t now_ms);
    // The counters as `show stat` reports them: summed, rebased, with rates and history.
    CounterView view(const StatsSource& src, std::uint64_t now_ms) const;
    const ProcessRates& process() const noexcept { return process_; }

    // `clear counters`: every maximum (in the workers, and the sampled rate maxima).
    void clear_max(const StatsSource& src);
    // `clear counters all`: maxima, and every cumulative counter starts again from 0.
    void clear_all(const StatsSource& src, std::uint64_t now_ms);

private:
    void raw(const StatsSource& src, std::vector<ProxySums>& p, std::vector<std::vector<ServerSums>>& s) const;

    std::vector<ProxySums> base_proxies_;
    std::vector<std::vector<ServerSums>> base_servers_;
    std::vector<ProxySums> last_proxies_;               // the previous sample, for rates
    std::vector<std::vector<ServerSums>> last_servers_;
    std::vector<ProxyRates> proxy_rates_;
    std::vector<std::vector<Rate>> server_rates_;
    std::vector<BackendHistory> backends_;
    ProcessRates process_;
    TlsTotals last_tls_, base_tls_;   // the previous sample; the `clear counters all` baseline
    std::uint64_t last_tick_ms_ = 0;
    std::uint64_t last_cpu_us_ = 0;
};

}  // namespace skjold::proxy
