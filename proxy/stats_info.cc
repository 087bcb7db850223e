#include "proxy/stats_info.hh"

#include "geo/table_stats.hh"

#include <cstring>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

namespace skjold::proxy {

namespace {

// __DATE__ ("Nov 22 2026") as HAProxy's Release_date ("2026/11/22"): skjold has no release
// date of its own, the build date stands in for it.
std::string release_date() {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const char* d = __DATE__;
    int month = 1;
    for (int i = 0; i < 12; ++i)
        if (std::strncmp(d, kMonths[i], 3) == 0) month = i + 1;
    int day = (d[4] == ' ' ? 0 : d[4] - '0') * 10 + (d[5] - '0');
    return fmt::format("{}/{:02}/{:02}", std::string_view(d + 7, 4), month, day);
}

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

std::uint64_t descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
    return static_cast<std::uint64_t>(rl.rlim_cur);
}

}  // namespace

std::string uptime_text(std::uint64_t s) {
    return fmt::format("{}d {}h{:02}m{:02}s", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
}

void show_info(std::string& out, const StatsSource& src, const CounterView& cv, const ProcessRates& rates,
               const ProcessFacts& facts, std::uint64_t now_ms) {
    std::uint64_t cur_conns = 0, cum_conns = 0, cum_req = 0, bytes_out = 0;
    for (std::size_t p = 0; p < cv.proxies.size(); ++p) {
        if (!src.snap->proxies[p].is_frontend) continue;
        cur_conns += cv.proxies[p][Pc::cur_conn];
        cum_conns += cv.proxies[p][Pc::cum_conn];
        cum_req += cv.proxies[p][Pc::req_tot];
        bytes_out += cv.proxies[p][Pc::bytes_out];
    }
    std::uint64_t up_s = now_ms > facts.start_ms ? (now_ms - facts.start_ms) / 1000 : 0;
    std::uint64_t maxconn = static_cast<std::uint64_t>(src.global_maxconn);
    std::uint64_t nofile = descriptor_limit();

    auto line = [&out](std::string_view name, const auto& value) { fmt::format_to(std::back_inserter(out), "{}: {}\n", name, value); };
    line("Name", "skjold");
    line("Version", SKJOLD_VERSION);
    line("Release_date", release_date());
    line("Nbthread", src.nworkers);
    line("Nbproc", 1);
    line("Process_num", 1);
    line("Pid", getpid());
    line("Uptime", uptime_text(up_s));
    line("Uptime_sec", up_s);
    line("Memmax_MB", 0);
    line("PoolAlloc_MB", 0);
    line("PoolUsed_MB", 0);
    line("PoolFailed", 0);
    line("Ulimit-n", nofile);
    line("Maxsock", nofile);
    line("Maxconn", maxconn);
    line("Hard_maxconn", maxconn);
    line("CurrConns", cur_conns);
    line("CumConns", cum_conns);
    line("CumReq", cum_req);
    line("MaxSslConns", 0);   // HAProxy's maxsslconn, which skjold does not have: no limit
    line("CurrSslConns", rates.ssl_cur);
    line("CumSslConns", rates.ssl_cum);
    line("Maxpipes", 0);
    line("PipesUsed", 0);
    line("PipesFree", 0);
    line("ConnRate", rates.conn.cur);
    line("ConnRateLimit", 0);
    line("MaxConnRate", rates.conn.max);
    line("SessRate", rates.sess.cur);
    line("SessRateLimit", 0);
    line("MaxSessRate", rates.sess.max);
    line("SslRate", rates.ssl.cur);
    line("SslRateLimit", 0);
    line("MaxSslRate", rates.ssl.max);
    line("SslFrontendKeyRate", rates.ssl_fe_key.cur);
    line("SslFrontendMaxKeyRate", rates.ssl_fe_key.max);
    line("SslFrontendSessionReuse_pct", rates.ssl_reuse_pct);
    line("SslBackendKeyRate", rates.ssl_be_key.cur);
    line("SslBackendMaxKeyRate", rates.ssl_be_key.max);
    line("SslCacheLookups", 0);
    line("SslCacheMisses", 0);
    line("CompressBpsIn", 0);
    line("CompressBpsOut", 0);
    line("CompressBpsRateLim", 0);
    line("Tasks", cur_conns + static_cast<std::uint64_t>(facts.listeners));
    line("Run_queue", 0);
    line("Idle_pct", rates.idle_pct);
    line("node", host_name());
    line("Stopping", facts.stopping ? 1 : 0);
    line("Jobs", cur_conns + static_cast<std::uint64_t>(facts.listeners));
    line("Unstoppable Jobs", 0);
    line("Listeners", facts.listeners);
    line("ActivePeers", 0);
    line("ConnectedPeers", 0);
    line("DroppedLogs", src.dropped_logs ? src.dropped_logs() : 0);
    line("BusyPolling", 0);
    line("FailedResolutions", 0);
    line("TotalBytesOut", bytes_out);
    line("TotalSplicdedBytesOut", 0);   // sic: HAProxy's spelling
    line("BytesOutRate", rates.bytes_out.cur);
    line("DebugCommandsIssued", 0);
    line("CumRecvLogs", 0);
    line("Build info", SKJOLD_VERSION);
    line("Memmax_bytes", 0);
    line("PoolAlloc_bytes", 0);
    line("PoolUsed_bytes", 0);
    line("Start_time_sec", facts.start_wall_s);
    line("Tainted", 0);
    // skjold's own lines.
    line("Skjold_last_reload", facts.last_reload);
    // Every distinct longest-prefix-match table the Snapshot holds (ACL `src` lists, map_ip,
    // geoip), each counted once: how many, their prefixes and their memory.
    geo::TableStats geo_stats;
    for (const auto& px : src.snap->proxies)
        for (const auto& acl : px.acls)
            for (const auto& e : acl.exprs)
                if (e.method == conf::MatchMethod::ip) geo_stats.add(e.ip_matcher);
    for (const auto& t : src.snap->geo_tables)
        if (t) geo_stats.add(*t);
    for (const auto& [name, value] : geo_stats.info_fields()) line(name, value);
}

}  // namespace skjold::proxy
