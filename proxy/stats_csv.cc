#include "proxy/stats_csv.hh"

#include "health/check_status.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace skjold::proxy {

const std::array<std::string_view, kStatFieldCount> kStatFieldNames = {
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
    "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act",
    "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
    "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx",
    "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt",
    "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime",
    "rtime", "ttime", "agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc", "check_rise", "check_fall", "check_health",
    "agent_rise", "agent_fall", "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
    "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur", "src_ilim",
    "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight",
    "agg_server_status", "agg_server_check_status", "agg_check_status",
};

namespace {

// HAProxy's stats modules after the `-` column (ssl, h2, h1), with how many of them a server row
// fills (the ssl ones); frontends and backends fill all.
constexpr std::string_view kModuleFields[] = {
    "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake",
    "h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp",
    "h2_goaway_resp", "h2_open_connections", "h2_backend_open_streams", "h2_total_connections",
    "h2_backend_total_streams",
    "h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams",
    "h1_bytes_in", "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out",
};
constexpr std::size_t kServerModuleFields = 3;

void emit(std::string& out, const StatRow& r, bool server) {
    for (std::size_t i = 0; i < kStatFieldCount; ++i) {
        r.append_csv(out, static_cast<StatField>(i));
        out += ',';
    }
    out += "-,";
    for (std::size_t i = 0; i < std::size(kModuleFields); ++i) out += (!server || i < kServerModuleFields) ? "0," : ",";
    out += '\n';
}

const char* mode_name(conf::Mode m) noexcept { return m == conf::Mode::http ? "http" : "tcp"; }

const char* algo_name(conf::Balance b) noexcept {
    switch (b) {
    case conf::Balance::roundrobin: return "roundrobin";
    case conf::Balance::static_rr: return "static-rr";
    case conf::Balance::leastconn: return "leastconn";
    case conf::Balance::source: return "source";
    case conf::Balance::first: return "first";
    case conf::Balance::random: return "random";
    }
    return "";
}

std::uint64_t avg(std::uint64_t sum, std::uint64_t n) noexcept { return n ? sum / n : 0; }

// Seconds since a counters' last_sess mark (monotonic seconds + 1), -1 when never.
std::int64_t since_last_sess(std::uint64_t mark, std::uint64_t now_ms) noexcept {
    if (mark == 0) return -1;
    std::uint64_t now_s = now_ms / 1000 + 1;
    return now_s > mark ? static_cast<std::int64_t>(now_s - mark) : 0;
}

// The frontend's connection limit (HAProxy: its maxconn, default the global maxconn).
int frontend_maxconn(const conf::Proxy& p, int global_maxconn) noexcept {
    return p.maxconn > 0 ? p.maxconn : global_maxconn;
}

// HAProxy's default fullconn: 10% (rounded up) of the maxconn of every frontend that can send
// traffic to this backend (cfgparse.c), shown as the backend's slim.
std::uint64_t backend_fullconn(const conf::Snapshot& snap, int backend, int global_maxconn) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < snap.proxies.size(); ++i) {
        const conf::Proxy& f = snap.proxies[i];
        if (!f.is_frontend) continue;
        bool uses = f.default_backend == backend || (static_cast<int>(i) == backend && f.is_backend);
        for (const auto& u : f.use_backends) uses = uses || u.backend == backend;
        if (uses) sum += static_cast<std::uint64_t>(frontend_maxconn(f, global_maxconn));
    }
    return (sum + 9) / 10;
}

void common(StatRow& b, const conf::Proxy& p, int iid, int sid, StatType t) {
    b.text(StatField::pxname, p.name);
    b.num(StatField::pid, 1);
    b.num(StatField::iid, static_cast<std::uint64_t>(iid));
    b.num(StatField::sid, static_cast<std::uint64_t>(sid));
    b.num(StatField::type, static_cast<std::uint64_t>(t));
    b.text(StatField::mode, mode_name(p.mode));
}

void http_responses(StatRow& b, std::uint64_t c1, std::uint64_t c2, std::uint64_t c3, std::uint64_t c4,
                    std::uint64_t c5, std::uint64_t other) {
    b.num(StatField::hrsp_1xx, c1);
    b.num(StatField::hrsp_2xx, c2);
    b.num(StatField::hrsp_3xx, c3);
    b.num(StatField::hrsp_4xx, c4);
    b.num(StatField::hrsp_5xx, c5);
    b.num(StatField::hrsp_other, other);
}

}  // namespace

void frontend_stat_row(const StatsSource& src, const CounterView& cv, int px, StatRow& b) noexcept {
    const conf::Proxy& p = src.snap->proxies[static_cast<std::size_t>(px)];
    const ProxySums& c = cv.proxies[static_cast<std::size_t>(px)];
    const ProxyRates& r = cv.proxy_rates[static_cast<std::size_t>(px)];
    bool http = p.mode == conf::Mode::http;
    b.clear();
    common(b, p, px + 1, 0, StatType::frontend);
    b.text(StatField::svname, "FRONTEND");
    b.num(StatField::scur, c[Pc::cur_conn]);
    b.num(StatField::smax, c[Pc::max_conn]);
    b.num(StatField::slim, static_cast<std::uint64_t>(frontend_maxconn(p, src.global_maxconn)));
    std::uint64_t sessions = c[Pc::cum_conn] > c[Pc::denied_conn] ? c[Pc::cum_conn] - c[Pc::denied_conn] : 0;
    b.num(StatField::stot, sessions);
    b.num(StatField::bin, c[Pc::bytes_in]);
    b.num(StatField::bout, c[Pc::bytes_out]);
    b.num(StatField::dreq, c[Pc::denied_req]);
    b.num(StatField::dresp, c[Pc::denied_resp]);
    b.num(StatField::ereq, c[Pc::failed_req]);
    b.text(StatField::status, p.disabled ? "STOP" : "OPEN");
    b.num(StatField::rate, r.sess.cur);
    b.num(StatField::rate_lim, 0);
    b.num(StatField::rate_max, r.sess.max);
    if (http) http_responses(b, c[Pc::hrsp_1xx], c[Pc::hrsp_2xx], c[Pc::hrsp_3xx], c[Pc::hrsp_4xx], c[Pc::hrsp_5xx], c[Pc::hrsp_other]);
    b.num(StatField::req_rate, r.req.cur);
    b.num(StatField::req_rate_max, r.req.max);
    b.num(StatField::req_tot, c[Pc::req_tot]);
    b.num(StatField::comp_in, c[Pc::comp_in]);
    b.num(StatField::comp_out, c[Pc::comp_out]);
    b.num(StatField::comp_byp, c[Pc::comp_byp]);
    b.num(StatField::comp_rsp, c[Pc::comp_rsp]);
    b.num(StatField::conn_rate, r.conn.cur);
    b.num(StatField::conn_rate_max, r.conn.max);
    b.num(StatField::conn_tot, c[Pc::cum_conn]);
    if (http) b.num(StatField::intercepted, c[Pc::intercepted]);
    b.num(StatField::dcon, c[Pc::denied_conn]);
    b.num(StatField::dses, 0);
    b.num(StatField::wrew, c[Pc::wrew]);
    if (http) {
        b.num(StatField::cache_lookups, 0);
        b.num(StatField::cache_hits, 0);
    }
    b.num(StatField::eint, c[Pc::internal_errors]);
}

void server_stat_row(const StatsSource& src, const CounterView& cv, int px, int sv, std::uint64_t now_ms, bool with_text,
                     StatRow& b) {
    const conf::Proxy& p = src.snap->proxies[static_cast<std::size_t>(px)];
    const conf::Server& cs = p.servers[static_cast<std::size_t>(sv)];
    const ServerSums& c = cv.servers[static_cast<std::size_t>(px)][static_cast<std::size_t>(sv)];
    const Rate& rate = cv.server_rates[static_cast<std::size_t>(px)][static_cast<std::size_t>(sv)];
    const health::ServerState& st = src.state->backend(px)->server(sv);
    bool http = p.mode == conf::Mode::http;
    b.clear();
    common(b, p, px + 1, sv + 1, StatType::server);
    b.text(StatField::svname, cs.name);
    b.num(StatField::qcur, 0);
    b.num(StatField::qmax, 0);
    b.num(StatField::scur, c[Sc::cur_conn]);
    b.num(StatField::smax, c[Sc::max_conn]);
    if (cs.opt.maxconn > 0) b.num(StatField::slim, static_cast<std::uint64_t>(cs.opt.maxconn));
    b.num(StatField::stot, c[Sc::cum_conn]);
    b.num(StatField::bin, c[Sc::bytes_in]);
    b.num(StatField::bout, c[Sc::bytes_out]);
    b.num(StatField::dresp, 0);
    b.num(StatField::econ, c[Sc::conn_errors]);
    b.num(StatField::eresp, c[Sc::failed_resp]);
    b.num(StatField::wretr, c[Sc::retries]);
    b.num(StatField::wredis, c[Sc::redispatches]);
    if (with_text) {
        char status[32];
        b.copy(StatField::status, std::string_view(status, server_status(st, status, sizeof status)));
    }
    b.num(StatField::weight, static_cast<std::uint64_t>(st.weight()));
    b.num(StatField::act, st.backup() ? 0 : 1);
    b.num(StatField::bck, st.backup() ? 1 : 0);
    bool checks = st.checks_enabled();
    // HAProxy prints the check results only while checks run (enabled, not paused by MAINT).
    bool running = checks_running(st);
    if (checks) {
        b.num(StatField::chkfail, c.chkfail);
        b.num(StatField::chkdown, c.chkdown);
        b.num(StatField::downtime, c.downtime_ms / 1000);
    }
    std::uint64_t changed = st.last_change_ms();
    b.num(StatField::lastchg, now_ms > changed ? (now_ms - changed) / 1000 : 0);
    if (st.health() == health::Health::starting && st.admin() != health::Admin::drain && st.user_weight() > 0)
        b.num(StatField::throttle, static_cast<std::uint64_t>(st.weight() * 100 / st.user_weight()));
    b.num(StatField::lbtot, c[Sc::lbtot]);
    b.num(StatField::rate, rate.cur);
    b.num(StatField::rate_max, rate.max);
    if (running) {
        const health::CheckStats* chk = src.check_stats ? src.check_stats(px, sv) : nullptr;
        health::CheckStatus status = chk ? chk->status() : health::CheckStatus::ini;
        b.text(StatField::check_status, health::check_status_name(status));
        if (chk != nullptr && health::check_status_has_code(status) && chk->code() > 0)
            b.num(StatField::check_code, static_cast<std::uint64_t>(chk->code()));
        if (chk != nullptr && chk->duration_ms() >= 0) b.inum(StatField::check_duration, chk->duration_ms());
        if (chk != nullptr && with_text) {
            char desc[health::kCheckDescMax + 1];
            std::size_t n = chk->description(desc);
            b.copy(StatField::last_chk, std::string_view(desc, n));
        }
        b.text(StatField::check_desc, health::check_status_description(status));
        b.num(StatField::check_rise, static_cast<std::uint64_t>(st.rise()));
        b.num(StatField::check_fall, static_cast<std::uint64_t>(st.fall()));
        b.num(StatField::check_health, static_cast<std::uint64_t>(st.health_counter()));
    }
    if (http) {
        http_responses(b, c[Sc::hrsp_1xx], c[Sc::hrsp_2xx], c[Sc::hrsp_3xx], c[Sc::hrsp_4xx], c[Sc::hrsp_5xx], c[Sc::hrsp_other]);
        b.num(StatField::req_tot, c[Sc::req_tot]);
    }
    b.num(StatField::cli_abrt, c[Sc::cli_abrt]);
    b.num(StatField::srv_abrt, c[Sc::srv_abrt]);
    b.inum(StatField::lastsess, since_last_sess(c[Sc::last_sess], now_ms));
    b.num(StatField::qtime, avg(c[Sc::qtime_sum], c[Sc::qtime_n]));
    b.num(StatField::ctime, avg(c[Sc::ctime_sum], c[Sc::ctime_n]));
    b.num(StatField::rtime, avg(c[Sc::rtime_sum], c[Sc::rtime_n]));
    b.num(StatField::ttime, avg(c[Sc::ttime_sum], c[Sc::ttime_n]));
    if (with_text) b.copy(StatField::addr, cs.addr.is_unix() ? std::string("unix") : cs.addr.to_string());
    b.num(StatField::wrew, 0);
    b.num(StatField::connect, c[Sc::connect_attempts]);
    b.num(StatField::reuse, c[Sc::reuse]);
    b.num(StatField::srv_icur, 0);
    for (StatField f : {StatField::qtime_max, StatField::ctime_max, StatField::rtime_max, StatField::ttime_max}) b.num(f, 0);
    b.num(StatField::eint, c[Sc::internal_errors]);
    b.num(StatField::idle_conn_cur, 0);
    b.num(StatField::safe_conn_cur, 0);
    b.num(StatField::used_conn_cur, c[Sc::cur_conn]);
    b.num(StatField::need_conn_est, c[Sc::max_conn]);
    b.num(StatField::uweight, static_cast<std::uint64_t>(st.user_weight()));
}

void backend_stat_row(const StatsSource& src, const CounterView& cv, int px, std::uint64_t now_ms, StatRow& b) noexcept {
    const conf::Proxy& p = src.snap->proxies[static_cast<std::size_t>(px)];
    const ProxySums& c = cv.proxies[static_cast<std::size_t>(px)];
    const ProxyRates& r = cv.proxy_rates[static_cast<std::size_t>(px)];
    const BackendHistory& h = cv.backends[static_cast<std::size_t>(px)];
    const health::BackendState& be = *src.state->backend(px);
    BackendWeights w = backend_weights(be);
    bool http = p.mode == conf::Mode::http;
    b.clear();
    common(b, p, px + 1, 0, StatType::backend);
    b.text(StatField::svname, "BACKEND");
    b.num(StatField::qcur, c[Pc::cur_queue]);
    b.num(StatField::qmax, c[Pc::max_queue]);
    b.num(StatField::scur, c[Pc::cur_conn]);
    b.num(StatField::smax, c[Pc::max_conn]);
    b.num(StatField::slim, backend_fullconn(*src.snap, px, src.global_maxconn));
    b.num(StatField::stot, c[Pc::cum_conn]);
    b.num(StatField::bin, c[Pc::bytes_in]);
    b.num(StatField::bout, c[Pc::bytes_out]);
    b.num(StatField::dreq, c[Pc::denied_req]);
    b.num(StatField::dresp, c[Pc::denied_resp]);
    b.num(StatField::econ, c[Pc::conn_errors]);
    b.num(StatField::eresp, c[Pc::failed_resp]);
    b.num(StatField::wretr, c[Pc::retries]);
    b.num(StatField::wredis, c[Pc::redispatches]);
    b.text(StatField::status, w.up ? "UP" : "DOWN");
    b.num(StatField::weight, static_cast<std::uint64_t>(w.weight));
    b.num(StatField::act, static_cast<std::uint64_t>(w.act));
    b.num(StatField::bck, static_cast<std::uint64_t>(w.bck));
    b.num(StatField::chkdown, h.chkdown);
    b.num(StatField::lastchg, h.seen && now_ms > h.last_change_ms ? (now_ms - h.last_change_ms) / 1000 : 0);
    b.num(StatField::downtime, h.downtime_ms / 1000);
    b.num(StatField::lbtot, c[Pc::lbtot]);
    b.num(StatField::rate, r.sess.cur);
    b.num(StatField::rate_max, r.sess.max);
    if (http) {
        http_responses(b, c[Pc::hrsp_1xx], c[Pc::hrsp_2xx], c[Pc::hrsp_3xx], c[Pc::hrsp_4xx], c[Pc::hrsp_5xx], c[Pc::hrsp_other]);
        b.num(StatField::req_tot, c[Pc::req_tot]);
    }
    b.num(StatField::cli_abrt, c[Pc::cli_abrt]);
    b.num(StatField::srv_abrt, c[Pc::srv_abrt]);
    b.num(StatField::comp_in, c[Pc::comp_in]);
    b.num(StatField::comp_out, c[Pc::comp_out]);
    b.num(StatField::comp_byp, c[Pc::comp_byp]);
    b.num(StatField::comp_rsp, c[Pc::comp_rsp]);
    b.inum(StatField::lastsess, since_last_sess(c[Pc::last_sess], now_ms));
    b.num(StatField::qtime, avg(c[Pc::qtime_sum], c[Pc::qtime_n]));
    b.num(StatField::ctime, avg(c[Pc::ctime_sum], c[Pc::ctime_n]));
    b.num(StatField::rtime, avg(c[Pc::rtime_sum], c[Pc::rtime_n]));
    b.num(StatField::ttime, avg(c[Pc::ttime_sum], c[Pc::ttime_n]));
    b.text(StatField::algo, algo_name(p.balance));
    b.num(StatField::wrew, c[Pc::wrew]);
    b.num(StatField::connect, c[Pc::connect_attempts]);
    b.num(StatField::reuse, c[Pc::reuse]);
    if (http) {
        b.num(StatField::cache_lookups, 0);
        b.num(StatField::cache_hits, 0);
    }
    for (StatField f : {StatField::qtime_max, StatField::ctime_max, StatField::rtime_max, StatField::ttime_max}) b.num(f, 0);
    b.num(StatField::eint, c[Pc::internal_errors]);
    b.num(StatField::uweight, static_cast<std::uint64_t>(w.uweight));
    b.num(StatField::agg_server_status, 0);
    b.num(StatField::agg_server_check_status, 0);
    b.num(StatField::agg_check_status, 0);
}

namespace {

bool server_selected(const health::ServerState& st, const StatFilter& f) {
    if (f.no_maint && st.admin() == health::Admin::maint) return false;
    if (f.up_only) {
        // HAProxy's "up": servers whose operational state is not stopped, and not in MAINT.
        if (st.admin() == health::Admin::maint || st.health() == health::Health::down) return false;
    }
    return true;
}

}  // namespace

void append_csv_field(std::string& out, std::string_view v) {
    if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

std::string stat_header() {
    std::string h = "# ";
    for (auto n : kStatFieldNames) {
        h += n;
        h += ',';
    }
    h += "-,";
    for (auto n : kModuleFields) {
        h += n;
        h += ',';
    }
    h += '\n';
    return h;
}

std::string server_status(const health::ServerState& s) {
    char buf[32];
    return std::string(buf, server_status(s, buf, sizeof buf));
}

std::size_t server_status(const health::ServerState& s, char* out, std::size_t cap) noexcept {
    auto put = [&](std::string_view word, int a, int b) {
        fmt::format_to_n_result<char*> r{};
        if (a < 0) r = fmt::format_to_n(out, cap, "{}", word);
        else r = fmt::format_to_n(out, cap, "{} {}/{}", word, a, b);
        return std::min(r.size, cap);
    };
    if (s.admin() == health::Admin::maint) return put("MAINT", -1, 0);
    bool checks = s.checks_enabled();
    int top = s.rise() + s.fall() - 1;
    int h = s.health_counter();
    switch (s.health()) {
    case health::Health::up:
    case health::Health::starting: {
        bool going_down = checks && h < top;
        int a = going_down ? h - s.rise() + 1 : -1;
        if (s.admin() == health::Admin::drain) return put("DRAIN", a, s.fall());
        if (!checks) return put("no check", -1, 0);
        return put("UP", a, s.fall());
    }
    case health::Health::stopping:
        if (!checks || h == top) return put("NOLB", -1, 0);
        return put("NOLB", h - s.rise() + 1, s.fall());
    case health::Health::down:
        if (checks && h > 0) return put("DOWN", h, s.rise());
        return put("DOWN", -1, 0);
    }
    return put("DOWN", -1, 0);
}

bool checks_running(const health::ServerState& s) noexcept {
    return s.checks_enabled() && s.admin() != health::Admin::maint;
}

void StatRow::clear() noexcept {
    v_.fill(StatValue{});
    used_ = 0;
}

void StatRow::copy(StatField f, std::string_view v) noexcept {
    std::size_t n = std::min(v.size(), sizeof arena_ - used_);
    std::memcpy(arena_ + used_, v.data(), n);
    text(f, std::string_view(arena_ + used_, n));
    used_ += n;
}

void StatRow::append_csv(std::string& out, StatField f) const {
    const StatValue& v = (*this)[f];
    char buf[24];
    switch (v.kind) {
    case StatValue::Kind::empty: break;
    case StatValue::Kind::u64: out.append(buf, fmt::format_to_n(buf, sizeof buf, "{}", v.u).size); break;
    case StatValue::Kind::s64: out.append(buf, fmt::format_to_n(buf, sizeof buf, "{}", v.s).size); break;
    case StatValue::Kind::str: append_csv_field(out, v.str); break;
    }
}

void show_stat_rows(std::string& out, const StatsSource& src, const CounterView& cv, const StatFilter& f,
                    std::uint64_t now_ms) {
    const auto& proxies = src.snap->proxies;
    auto row_storage = std::make_unique<StatRow>();   // ~4 KiB: not on the stack
    StatRow& row = *row_storage;
    for (std::size_t i = 0; i < proxies.size(); ++i) {
        int px = static_cast<int>(i);
        if (f.iid != -1 && f.iid != px + 1) continue;
        const conf::Proxy& p = proxies[i];
        if (p.is_frontend && (f.type_mask & 1)) {
            frontend_stat_row(src, cv, px, row);
            emit(out, row, false);
        }
        if (!p.is_backend || src.state == nullptr || src.state->backend(px) == nullptr) continue;
        if (f.type_mask & 4) {
            const health::BackendState& be = *src.state->backend(px);
            for (int s = 0; s < be.size() && s < static_cast<int>(p.servers.size()); ++s) {
                if (f.sid != -1 && f.sid != s + 1) continue;
                if (!server_selected(be.server(s), f)) continue;
                server_stat_row(src, cv, px, s, now_ms, true, row);
                emit(out, row, true);
            }
        }
        if (f.type_mask & 2) {
            backend_stat_row(src, cv, px, now_ms, row);
            emit(out, row, false);
        }
    }
}

}  // namespace skjold::proxy
