#pragma once
// `show info`: HAProxy 2.6's `Name: value` lines in HAProxy's order (tools such as hatop require
// some of them: Name, Version, Release_date, Nbproc, Process_num, Pid, Uptime, Maxconn,
// CurrConns, Maxpipes, PipesUsed, Tasks, Run_queue, node), then skjold's own lines.
// Values skjold has no counterpart for (pools, pipes, SSL rates until TLS lands, peers) are 0.

#include <cstdint>
#include <string>

#include "proxy/stats_counters.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy {

// Process facts the counters do not hold. Owner: the StatsServer (filled at start; the
// reload result is set by the control thread through StatsServer::note_reload).
struct ProcessFacts {
    std::uint64_t start_ms = 0;        // core::monotonic_ms() at start
    std::int64_t start_wall_s = 0;     // time(nullptr) at start
    int listeners = 0;                 // bound listening sockets (all workers)
    bool stopping = false;
    std::string last_reload = "none";  // the reload owner's one-line summary
};

// "0d 0h00m03s", as HAProxy prints Uptime.
std::string uptime_text(std::uint64_t seconds);

void show_info(std::string& out, const StatsSource& src, const CounterView& counters, const ProcessRates& rates,
               const ProcessFacts& facts, std::uint64_t now_ms);

}  // namespace skjold::proxy
