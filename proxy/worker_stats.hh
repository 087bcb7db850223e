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
};

struct ServerCounters {
    core::Counter cur_conn;
    core::Counter cum_conn;
    core::Counter conn_errors;
    core::Counter bytes_in, bytes_out;
};

struct WorkerStats {
    std::unique_ptr<ProxyCounters[]> proxies;                  // by proxy index
    std::vector<std::unique_ptr<ServerCounters[]>> servers;    // by proxy index, then server index
    core::Counter accept_errors;
    core::Counter sessions_refused;                            // slab or maxconn full
};

}  // namespace skjold::proxy
