#pragma once
// `show stat`: HAProxy 2.6's CSV (management.txt 9.1), so tools that read columns by position
// (hatop, prometheus-haproxy-exporter) and those that read the header both work unchanged.
//
// Layout, as HAProxy 2.6.12 prints it: a header `# pxname,svname,...` naming fields 0..102,
// then `-` (end of the static fields), then the fields of HAProxy's ssl/h2/h1 stats modules
// (skjold has none of those counters yet and prints 0 where HAProxy prints a value); every
// line, header included, ends with a comma. Per proxy: the FRONTEND row, one row per server,
// the BACKEND row. A field that does not apply to a row type is empty, exactly where HAProxy
// leaves it empty.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "health/server_state.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy {

// The static fields, by their position in the CSV.
enum class StatField : std::uint8_t {
    pxname, svname, qcur, qmax, scur, smax, slim, stot, bin, bout,
    dreq, dresp, ereq, econ, eresp, wretr, wredis, status, weight, act,
    bck, chkfail, chkdown, lastchg, downtime, qlimit, pid, iid, sid, throttle,
    lbtot, tracked, type, rate, rate_lim, rate_max, check_status, check_code, check_duration, hrsp_1xx,
    hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other, hanafail, req_rate, req_rate_max, req_tot, cli_abrt,
    srv_abrt, comp_in, comp_out, comp_byp, comp_rsp, lastsess, last_chk, last_agt, qtime, ctime,
    rtime, ttime, agent_status, agent_code, agent_duration, check_desc, agent_desc, check_rise, check_fall, check_health,
    agent_rise, agent_fall, agent_health, addr, cookie, mode, algo, conn_rate, conn_rate_max, conn_tot,
    intercepted, dcon, dses, wrew, connect, reuse, cache_lookups, cache_hits, srv_icur, src_ilim,
    qtime_max, ctime_max, rtime_max, ttime_max, eint, idle_conn_cur, safe_conn_cur, used_conn_cur, need_conn_est, uweight,
    agg_server_status, agg_server_check_status, agg_check_status,
    count_
};
inline constexpr std::size_t kStatFieldCount = static_cast<std::size_t>(StatField::count_);   // 103
extern const std::array<std::string_view, kStatFieldCount> kStatFieldNames;

// Row types, as HAProxy numbers them (field 32 `type`) and as `show stat IID TYPE SID` masks them.
enum class StatType : std::uint8_t { frontend = 0, backend = 1, server = 2 };

// `show stat [{<iid>|<proxy>} <type> <sid>] [up] [no-maint]`
struct StatFilter {
    int iid = -1;          // proxy id (1-based position), -1: all
    int type_mask = 7;     // 1 frontends, 2 backends, 4 servers
    int sid = -1;          // server id (1-based position), -1: all
    bool up_only = false;  // servers: only those UP
    bool no_maint = false; // servers: not those in MAINT
};

// One field of a row, as HAProxy's `struct field`: empty, a number or text. The CSV prints it;
// the Prometheus exporter (prometheus_exporter.hh) reads the numbers, so both show one value.
struct StatValue {
    enum class Kind : std::uint8_t { empty, u64, s64, str } kind = Kind::empty;
    std::uint64_t u = 0;
    std::int64_t s = 0;
    std::string_view str;   // the Snapshot's, a static string, or the row's arena
};

// The fields of one frontend, backend or server row. Filled without allocating: text that is
// not in the Snapshot or static is copied into the row's arena (and cut to what fits).
class StatRow {
public:
    const StatValue& operator[](StatField f) const noexcept { return v_[static_cast<std::size_t>(f)]; }
    void clear() noexcept;
    void num(StatField f, std::uint64_t v) noexcept { at(f) = StatValue{StatValue::Kind::u64, v, 0, {}}; }
    void inum(StatField f, std::int64_t v) noexcept { at(f) = StatValue{StatValue::Kind::s64, 0, v, {}}; }
    // `v` must outlive the row (Snapshot strings, literals).
    void text(StatField f, std::string_view v) noexcept { at(f) = StatValue{StatValue::Kind::str, 0, 0, v}; }
    void copy(StatField f, std::string_view v) noexcept;   // into the arena
    // The value as `show stat` prints it (numbers in decimal, empty as nothing).
    void append_csv(std::string& out, StatField f) const;

private:
    StatValue& at(StatField f) noexcept { return v_[static_cast<std::size_t>(f)]; }
    std::array<StatValue, kStatFieldCount> v_{};
    char arena_[512];
    std::size_t used_ = 0;
};

// The rows `show stat` prints, field by field. `with_text`: also the text that must be
// formatted (server status string, address, last check description); the exporter leaves it
// out. No allocation.
void frontend_stat_row(const StatsSource& src, const CounterView& cv, int px, StatRow& out) noexcept;
void server_stat_row(const StatsSource& src, const CounterView& cv, int px, int sv, std::uint64_t now_ms, bool with_text,
                     StatRow& out);   // allocates only with_text (the address)
void backend_stat_row(const StatsSource& src, const CounterView& cv, int px, std::uint64_t now_ms, StatRow& out) noexcept;

// HAProxy prints a server's check fields only while its checks run: enabled, not paused by MAINT.
bool checks_running(const health::ServerState& s) noexcept;

// The header line, with its newline.
std::string stat_header();

// Appends the rows (no header) of every proxy the filter selects.
void show_stat_rows(std::string& out, const StatsSource& src, const CounterView& counters, const StatFilter& filter,
                    std::uint64_t now_ms);

// HAProxy's status column for a server: "UP", "UP 1/3", "DOWN", "DOWN 1/2", "NOLB", "NOLB 1/3",
// "DRAIN", "DRAIN 1/3", "MAINT", "no check" (src/stats.c srv_hlt_st).
std::string server_status(const health::ServerState& s);
// The same into out (at least 16 bytes); returns its length. No allocation.
std::size_t server_status(const health::ServerState& s, char* out, std::size_t cap) noexcept;

// A CSV field: as is, or in double quotes (inner quotes doubled) when it holds a comma, a quote
// or a line break.
void append_csv_field(std::string& out, std::string_view v);

}  // namespace skjold::proxy
