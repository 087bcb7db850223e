#pragma once
// Counters of one worker. Written by that worker only; read by the control thread (stats socket)
// and by other workers' fe_conn/be_conn fetches, which sum every worker's value.
// Sized once from the Snapshot before the workers start; never resized while they run.

#include <memory>
#include <vector>

#include "core/counter.hh"

namespace skjold::proxy {

struct ProxyCounters {
    core::Counter cur_conn;      // frontend: client connections; backend: server connections
    core::Counter cum_conn;
    core::Counter denied_conn;   // tcp-request connection reject
    core::Counter bytes_in;      // from clients
    core::Counter bytes_out;     // to clients
    core::Counter conn_errors;   // failed connects (backend)
    core::Counter retries;
    core::Counter redispatches;
    core::Counter no_server;     // sessions dropped: no usable server
    core::Counter timeouts;
    // --- added for `show stat` (issue 7); each says who increments it ---------------------
    // Highest cur_conn this worker has seen (smax); `show stat` sums the workers' maxima, an
    // upper bound of the process-wide maximum. Incremented by: the session code, right after
    // cur_conn.add(), through note_max().
    core::Counter max_conn;
    core::Counter max_queue;     // qmax (backend): note_max() by WorkerRuntime::enqueue
    core::Counter cur_queue;     // qcur (backend): sessions waiting for a server slot (worker_queue.cc)
    core::Counter lbtot;         // backend: times the balancer picked a server (session code)
    core::Counter req_tot;       // HTTP requests received (frontend) / sent (backend): http-core
    core::Counter hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx;   // responses by class: http-core
    core::Counter hrsp_other;    // responses with another status (protocol error): http-core
    core::Counter failed_req;    // ereq (frontend): bad/aborted/timed-out client requests: http-core
    core::Counter denied_req;    // dreq: http-request deny/reject (tcp: tcp-request content): http-core
    core::Counter denied_resp;   // dresp: http-response deny: http-core
    core::Counter failed_resp;   // eresp (backend): bad or aborted server responses: http-core / session code
    core::Counter cli_abrt;      // backend: transfers aborted by the client: session code / http-core
    core::Counter srv_abrt;      // backend: transfers aborted by the server (also in eresp): idem
    core::Counter intercepted;   // frontend: requests answered by skjold itself (monitor, return, redirect): http-core
    core::Counter comp_in, comp_out, comp_byp, comp_rsp;   // compression (none yet)
    core::Counter internal_errors;   // eint: skjold's own failures while handling a session
    core::Counter connect_attempts;  // backend: `connect` column: connects started (session code)
    core::Counter reuse;             // backend: requests sent on a reused idle connection: http-core
    core::Counter wrew;              // failed header rewrites: http-core
    // Sums of per-session times in ms and the number of sessions they cover, for ctime/ttime
    // (and rtime for HTTP); `show stat` prints sum / count. Incremented by: session code
    // (connect, total), http-core (response time).
    core::Counter ctime_sum, ctime_n, rtime_sum, rtime_n, ttime_sum, ttime_n;
    core::Counter last_sess;     // backend: core::monotonic_ms() / 1000 + 1 at the last session assigned (0: never): session code
    // Queue time (ms) of every session assigned a server, 0 for those that did not wait, and
    // their number, for qtime (sum / count): WorkerRuntime::note_queue_time.
    core::Counter qtime_sum, qtime_n;
};

struct ServerCounters {
    core::Counter cur_conn;
    core::Counter cum_conn;
    core::Counter conn_errors;
    core::Counter bytes_in, bytes_out;
    // --- added for `show stat` (issue 7); same owners as the ProxyCounters of the same name --
    core::Counter max_conn;      // smax: note_max() after cur_conn.add() (session code)
    core::Counter lbtot;         // times the balancer picked this server (session code)
    core::Counter retries;       // wretr: connect retries on this server (session code)
    core::Counter redispatches;  // wredis: sessions switched away from this server (session code)
    core::Counter failed_resp;   // eresp (session code / http-core)
    core::Counter cli_abrt, srv_abrt;   // session code / http-core
    core::Counter req_tot;       // HTTP requests sent to this server: http-core
    core::Counter hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other;   // http-core
    core::Counter connect_attempts, reuse;   // session code / http-core
    core::Counter internal_errors;
    core::Counter ctime_sum, ctime_n, rtime_sum, rtime_n, ttime_sum, ttime_n;   // as ProxyCounters
    core::Counter last_sess;     // as ProxyCounters::last_sess (session code)
    core::Counter qtime_sum, qtime_n;   // as ProxyCounters (WorkerRuntime::note_queue_time)
};

// For the max_* counters: single writer, so a load, compare and store is enough. The one other
// write: `clear counters` on the stats thread stores 0 into them (StatsHistory::clear_max); a
// worker raising one at that moment leaves a value it just saw, still a true maximum.
inline void note_max(core::Counter& max, std::uint64_t value) noexcept {
    if (value > max.read()) max.set(value);
}

struct WorkerStats {
    std::unique_ptr<ProxyCounters[]> proxies;                  // by proxy index
    std::vector<std::unique_ptr<ServerCounters[]>> servers;    // by proxy index, then server index
    core::Counter accept_errors;
    core::Counter sessions_refused;                            // slab or maxconn full
};

}  // namespace skjold::proxy
