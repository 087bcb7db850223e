// The Prometheus page. Metric names, types, labels and which object each one is printed for
// follow HAProxy 2.6's promex service (addons/promex), so dashboards and alerts written for
// HAProxy read skjold unchanged; the HELP texts are skjold's own wording.
#include "proxy/prometheus_exporter.hh"

#include "core/worker.hh"
#include "health/check_status.hh"
#include "health/server_state.hh"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <new>

namespace skjold::proxy {

namespace {

// Process start, for uptime_seconds and start_time_seconds: taken while the program's statics
// are initialised, before main() (HAProxy also takes its start date first thing), and only read
// afterwards.
const std::uint64_t g_prom_start_ms = core::monotonic_ms();
const std::int64_t g_prom_start_wall_s = static_cast<std::int64_t>(std::time(nullptr));

constexpr std::size_t kPromHeadRoom = 256;   // the response head is written in front of the body

enum : std::uint8_t { kPromFe = 1, kPromBe = 2, kPromSrv = 4 };

struct PromStatMetric {
    StatField field;
    std::string_view name;
    bool counter;
    std::uint8_t objects;   // kPromFe / kPromBe / kPromSrv: where HAProxy prints it
    bool http_only;         // printed for mode http proxies only
    std::string_view help;
};

// In HAProxy's order (its stats field order). Not here: rates and their maxima, the backend's
// UP/DOWN history and the max_*_time_seconds figures (not measured; see the header).
constexpr PromStatMetric kPromPromStatMetrics[] = {
    {StatField::qcur, "current_queue", false, kPromBe | kPromSrv, false, "Number of requests waiting for a server slot."},
    {StatField::qmax, "max_queue", false, kPromBe | kPromSrv, false, "Highest value of current_queue since the process started."},
    {StatField::scur, "current_sessions", false, kPromFe | kPromBe | kPromSrv, false, "Number of sessions in progress."},
    {StatField::smax, "max_sessions", false, kPromFe | kPromBe | kPromSrv, false, "Highest value of current_sessions since the process started."},
    {StatField::slim, "limit_sessions", false, kPromFe | kPromBe | kPromSrv, false,
     "Session limit: maxconn of a frontend or server, fullconn of a backend."},
    {StatField::stot, "sessions_total", true, kPromFe | kPromBe | kPromSrv, false, "Sessions handled since the process started."},
    {StatField::bin, "bytes_in_total", true, kPromFe | kPromBe | kPromSrv, false, "Request bytes received since the process started."},
    {StatField::bout, "bytes_out_total", true, kPromFe | kPromBe | kPromSrv, false, "Response bytes sent since the process started."},
    {StatField::dreq, "requests_denied_total", true, kPromFe | kPromBe, false, "Requests denied by rules since the process started."},
    {StatField::dresp, "responses_denied_total", true, kPromFe | kPromBe | kPromSrv, false, "Responses denied by rules since the process started."},
    {StatField::ereq, "request_errors_total", true, kPromFe, false, "Invalid, aborted or timed-out requests since the process started."},
    {StatField::econ, "connection_errors_total", true, kPromBe | kPromSrv, false, "Failed connections to servers since the process started."},
    {StatField::eresp, "response_errors_total", true, kPromBe | kPromSrv, false, "Invalid or aborted server responses since the process started."},
    {StatField::wretr, "retry_warnings_total", true, kPromBe | kPromSrv, false, "Connection attempts retried since the process started."},
    {StatField::wredis, "redispatch_warnings_total", true, kPromBe | kPromSrv, false,
     "Sessions moved to another server after a failure since the process started."},
    {StatField::status, "status", false, kPromFe | kPromBe | kPromSrv, false, "Current state, one line per state label: 1 for the current one."},
    {StatField::weight, "weight", false, kPromBe | kPromSrv, false, "Effective weight of a server, sum of the serving servers' weights for a backend."},
    {StatField::act, "active_servers", false, kPromBe, false, "Active servers that take traffic."},
    {StatField::bck, "backup_servers", false, kPromBe, false, "Backup servers that take traffic."},
    {StatField::chkfail, "check_failures_total", true, kPromSrv, false, "Failed health checks since the process started."},
    {StatField::chkdown, "check_up_down_total", true, kPromSrv, false, "UP to DOWN transitions since the process started."},
    {StatField::lastchg, "check_last_change_seconds", false, kPromSrv, false, "Seconds since the last change of state."},
    {StatField::downtime, "downtime_seconds_total", true, kPromSrv, false, "Seconds spent DOWN since the process started."},
    {StatField::qlimit, "queue_limit", false, kPromSrv, false, "Queue limit of the server (maxqueue); NaN: none."},
    {StatField::throttle, "current_throttle", false, kPromSrv, false, "Percentage of its weight a server in slowstart gets; NaN: not ramping."},
    {StatField::lbtot, "loadbalanced_total", true, kPromBe | kPromSrv, false, "Times a server was chosen by load balancing since the process started."},
    {StatField::rate_lim, "limit_session_rate", false, kPromFe, false, "Limit of new sessions per second; 0: none."},
    {StatField::check_status, "check_status", false, kPromSrv, false, "Result of the last health check, one line per state label: 1 for the current one."},
    {StatField::check_code, "check_code", false, kPromSrv, false, "HTTP status of the last health check; 0: none."},
    {StatField::check_duration, "check_duration_seconds", false, kPromSrv, false, "Duration of the last health check, in seconds."},
    {StatField::hrsp_1xx, "http_responses_total", true, kPromFe | kPromBe | kPromSrv, true, "HTTP responses by status class since the process started."},
    {StatField::req_tot, "http_requests_total", true, kPromFe | kPromBe, true, "HTTP requests since the process started."},
    {StatField::cli_abrt, "client_aborts_total", true, kPromBe | kPromSrv, false, "Transfers aborted by the client since the process started."},
    {StatField::srv_abrt, "server_aborts_total", true, kPromBe | kPromSrv, false, "Transfers aborted by the server since the process started."},
    {StatField::comp_in, "http_comp_bytes_in_total", true, kPromFe | kPromBe, true, "Bytes given to the HTTP compressor since the process started."},
    {StatField::comp_out, "http_comp_bytes_out_total", true, kPromFe | kPromBe, true, "Bytes out of the HTTP compressor since the process started."},
    {StatField::comp_byp, "http_comp_bytes_bypassed_total", true, kPromFe | kPromBe, true, "Bytes that bypassed the HTTP compressor since the process started."},
    {StatField::comp_rsp, "http_comp_responses_total", true, kPromFe | kPromBe, true, "HTTP responses compressed since the process started."},
    {StatField::lastsess, "last_session_seconds", false, kPromBe | kPromSrv, false, "Seconds since the last session was assigned; -1: never."},
    {StatField::qtime, "queue_time_average_seconds", false, kPromBe | kPromSrv, false, "Average time spent in the queue, in seconds."},
    {StatField::ctime, "connect_time_average_seconds", false, kPromBe | kPromSrv, false, "Average time to connect to a server, in seconds."},
    {StatField::rtime, "response_time_average_seconds", false, kPromBe | kPromSrv, false, "Average time to a server's response head, in seconds."},
    {StatField::ttime, "total_time_average_seconds", false, kPromBe | kPromSrv, false, "Average total session time, in seconds."},
    {StatField::conn_tot, "connections_total", true, kPromFe, false, "Connections accepted since the process started."},
    {StatField::intercepted, "intercepted_requests_total", true, kPromFe, true, "Requests answered by the proxy itself since the process started."},
    {StatField::dcon, "denied_connections_total", true, kPromFe, false, "Connections refused by tcp-request connection rules since the process started."},
    {StatField::dses, "denied_sessions_total", true, kPromFe, false, "Sessions refused by tcp-request session rules since the process started."},
    {StatField::wrew, "failed_header_rewriting_total", true, kPromFe | kPromBe | kPromSrv, false, "Failed header rewrites since the process started."},
    {StatField::connect, "connection_attempts_total", true, kPromBe | kPromSrv, false, "Connection attempts to servers since the process started."},
    {StatField::reuse, "connection_reuses_total", true, kPromBe | kPromSrv, false, "Requests sent on a reused server connection since the process started."},
    {StatField::cache_lookups, "http_cache_lookups_total", true, kPromFe | kPromBe, true, "HTTP cache lookups since the process started."},
    {StatField::cache_hits, "http_cache_hits_total", true, kPromFe | kPromBe, true, "HTTP cache hits since the process started."},
    {StatField::srv_icur, "idle_connections_current", false, kPromSrv, false, "Idle connections to the server available for reuse."},
    {StatField::src_ilim, "idle_connections_limit", false, kPromSrv, false, "Limit of idle connections to the server; NaN: none."},
    {StatField::eint, "internal_errors_total", true, kPromFe | kPromBe | kPromSrv, false, "Internal errors since the process started."},
    {StatField::idle_conn_cur, "unsafe_idle_connections_current", false, kPromSrv, false, "Idle connections that are not safe to reuse."},
    {StatField::safe_conn_cur, "safe_idle_connections_current", false, kPromSrv, false, "Idle connections that are safe to reuse."},
    {StatField::used_conn_cur, "used_connections_current", false, kPromSrv, false, "Connections to the server in use."},
    {StatField::need_conn_est, "need_connections_current", false, kPromSrv, false, "Estimate of the connections the server needs."},
    {StatField::uweight, "uweight", false, kPromBe | kPromSrv, false, "Weight set by the configuration or the stats socket."},
};

constexpr std::string_view kPromResponseClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

// HAProxy's check results that count as a verdict (check_statuses[] with a result of failed or
// better), by their short names: one check_status line each.
constexpr std::string_view kPromCheckStates[] = {"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP",
                                              "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"};

bool prom_time_average(StatField f) noexcept {
    return f == StatField::qtime || f == StatField::ctime || f == StatField::rtime || f == StatField::ttime;
}

// promex's server state: MAINT over everything, DRAIN over UP, NOLB for stopping.
std::string_view prom_server_state(const health::ServerState& s) noexcept {
    if (s.admin() == health::Admin::maint) return "MAINT";
    switch (s.health()) {
    case health::Health::up:
    case health::Health::starting: return s.admin() == health::Admin::drain ? "DRAIN" : "UP";
    case health::Health::stopping: return "NOLB";
    case health::Health::down: break;
    }
    return "DOWN";
}

bool prom_query_key(std::string_view item, std::string_view key, std::string_view& value, bool& has_value) noexcept {
    std::size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    if (k != key) return false;
    has_value = eq != std::string_view::npos;
    value = has_value ? item.substr(eq + 1) : std::string_view{};
    return true;
}

}  // namespace

// Appends metric lines to a page: `# HELP`/`# TYPE` before the first line of each metric.
class PromWriter {
public:
    struct Label {
        std::string_view name, value;
    };
    explicit PromWriter(std::string& out) noexcept : out_(out) {}

    void begin(std::string_view prefix, std::string_view name, bool counter, std::string_view help) noexcept {
        prefix_ = prefix;
        name_ = name;
        counter_ = counter;
        help_ = help;
        header_ = true;
    }
    void u64(std::initializer_list<Label> labels, std::uint64_t v) {
        start(labels);
        fmt::format_to(std::back_inserter(out_), "{}\n", v);
    }
    void s64(std::initializer_list<Label> labels, std::int64_t v) {
        start(labels);
        fmt::format_to(std::back_inserter(out_), "{}\n", v);
    }
    void seconds(std::initializer_list<Label> labels, double v) {
        start(labels);
        fmt::format_to(std::back_inserter(out_), "{:.6f}\n", v);
    }
    void nan(std::initializer_list<Label> labels) {
        start(labels);
        out_ += "NaN\n";
    }

private:
    void start(std::initializer_list<Label> labels) {
        if (header_) {
            fmt::format_to(std::back_inserter(out_), "# HELP {}{} {}\n# TYPE {}{} {}\n", prefix_, name_, help_, prefix_, name_,
                           counter_ ? "counter" : "gauge");
            header_ = false;
        }
        out_ += prefix_;
        out_ += name_;
        if (labels.size() != 0) {
            out_ += '{';
            bool first = true;
            for (const Label& l : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += l.name;
                out_ += "=\"";
                escape(l.value);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
    }
    // Label values: backslash, double quote and line feed escaped (text format 0.0.4).
    void escape(std::string_view v) {
        for (char c : v) {
            if (c == '\\' || c == '"') {
                out_ += '\\';
                out_ += c;
            } else if (c == '\n') {
                out_ += "\\n";
            } else {
                out_ += c;
            }
        }
    }

    std::string& out_;
    std::string_view prefix_, name_, help_;
    bool counter_ = false, header_ = false;
};

bool parse_prom_query(std::string_view q, PromScope& out) noexcept {
    PromScope r;
    bool scoped = false;
    if (std::size_t hash = q.find('#'); hash != std::string_view::npos) q = q.substr(0, hash);
    while (!q.empty()) {
        std::size_t amp = q.find('&');
        std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (item.empty()) continue;
        std::string_view v;
        bool has_value = false;
        if (prom_query_key(item, "scope", v, has_value)) {
            if (!has_value || v.find('=') != std::string_view::npos) return false;
            if (!scoped) r.global = r.frontend = r.backend = r.server = false;
            scoped = true;
            if (v == "*") r.global = r.frontend = r.backend = r.server = true;
            else if (v == "global") r.global = true;
            else if (v == "frontend") r.frontend = true;
            else if (v == "backend") r.backend = true;
            else if (v == "server") r.server = true;
            else if (v == "listener" || v == "sticktable" || v.empty()) {}   // none in skjold / nothing
            else return false;
        } else if (prom_query_key(item, "no-maint", v, has_value)) {
            r.no_maint = true;
        }
    }
    out = r;
    return true;
}

PrometheusExporter::PrometheusExporter(const Shared& sh) : row_(std::make_unique<StatRow>()) {
    base_.snap = sh.snap;
    base_.state = sh.state.get();
    base_.workers = &sh.stats;
    base_.nworkers = sh.nworkers;
    base_.global_maxconn = sh.global_maxconn;
}

PrometheusExporter::~PrometheusExporter() = default;

void PrometheusExporter::release(int id) noexcept {
    if (id >= 0 && id < kMaxPages && pages_[static_cast<std::size_t>(id)].users > 0) --pages_[static_cast<std::size_t>(id)].users;
}

PrometheusExporter::Page PrometheusExporter::render(const StatsSource* view, const PromScope& scope,
                                                    std::string_view conn_header, bool head_only, bool stopping,
                                                    std::uint64_t now_ms) noexcept {
    int id = -1;
    for (int i = 0; i < kMaxPages && id < 0; ++i)
        if (pages_[static_cast<std::size_t>(i)].users == 0) id = i;
    if (id < 0) return {};
    std::string& text = pages_[static_cast<std::size_t>(id)].text;
    const StatsSource& src = view != nullptr ? *view : base_;
    try {
        // Room for the counters' digits to grow: a page one scrape later must not reallocate.
        if (text.capacity() < largest_ + largest_ / 8) text.reserve(largest_ + largest_ / 8);
        text.assign(kPromHeadRoom, ' ');
        fill_rows(src, now_ms);
        PromWriter w(text);
        if (scope.global) process_metrics(w, src, stopping, now_ms);
        if (scope.frontend) frontend_metrics(w, src);
        if (scope.backend) backend_metrics(w, src);
        if (scope.server) server_metrics(w, src, scope.no_maint);
    } catch (const std::bad_alloc&) {
        return {};
    }
    const std::size_t body = text.size() - kPromHeadRoom;
    char head[kPromHeadRoom];
    auto r = fmt::format_to_n(head, sizeof head,
                              "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: text/plain; version=0.0.4\r\n"
                              "content-length: {}\r\n{}\r\n",
                              body, conn_header);
    if (r.size > sizeof head) return {};
    char* start = text.data() + kPromHeadRoom - r.size;
    std::memcpy(start, head, r.size);
    largest_ = std::max(largest_, text.size());
    ++pages_[static_cast<std::size_t>(id)].users;
    return Page{start, static_cast<std::uint32_t>(r.size + (head_only ? 0 : body)), id};
}

void PrometheusExporter::fill_rows(const StatsSource& src, std::uint64_t now_ms) {
    current_counters(src, now_ms, counters_);
    const auto& proxies = src.snap->proxies;
    fe_rows_.resize(proxies.size());
    be_rows_.resize(proxies.size());
    srv_rows_.resize(proxies.size());
    auto keep = [](const StatRow& r, NumRow& n) {
        for (std::size_t f = 0; f < kStatFieldCount; ++f) {
            const StatValue& v = r[static_cast<StatField>(f)];
            n.kind[f] = v.kind;
            n.v[f] = v.kind == StatValue::Kind::s64 ? static_cast<std::uint64_t>(v.s) : v.u;
        }
    };
    for (std::size_t i = 0; i < proxies.size(); ++i) {
        const int px = static_cast<int>(i);
        const conf::Proxy& p = proxies[i];
        if (p.is_frontend) {
            frontend_stat_row(src, counters_, px, *row_);
            keep(*row_, fe_rows_[i]);
        }
        const health::BackendState* be = src.state != nullptr ? src.state->backend(px) : nullptr;
        if (!p.is_backend || be == nullptr) continue;
        backend_stat_row(src, counters_, px, now_ms, *row_);
        keep(*row_, be_rows_[i]);
        const int n = std::min(be->size(), static_cast<int>(p.servers.size()));
        srv_rows_[i].resize(static_cast<std::size_t>(n));
        for (int s = 0; s < n; ++s) {
            server_stat_row(src, counters_, px, s, now_ms, false, *row_);
            keep(*row_, srv_rows_[i][static_cast<std::size_t>(s)]);
        }
    }
}

void PrometheusExporter::process_metrics(PromWriter& w, const StatsSource& src, bool stopping, std::uint64_t now_ms) {
    static constexpr std::string_view kPrefix = "haproxy_process_";
    const conf::Snapshot& snap = *src.snap;
    std::uint64_t cur = 0, cum = 0, req = 0, out = 0;
    int listeners = 0;
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
        if (!snap.proxies[p].is_frontend) continue;
        const ProxySums& c = counters_.proxies[p];
        cur += c[Pc::cur_conn];
        cum += c[Pc::cum_conn];
        req += c[Pc::req_tot];
        out += c[Pc::bytes_out];
        if (!snap.proxies[p].disabled)
            for (const auto& b : snap.proxies[p].binds) listeners += static_cast<int>(b.addrs.size());
    }
    rlimit rl{};
    std::uint64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 0;
    const std::uint64_t maxconn = static_cast<std::uint64_t>(src.global_maxconn);
    auto gauge = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        w.begin(kPrefix, name, false, help);
        w.u64({}, v);
    };
    auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        w.begin(kPrefix, name, true, help);
        w.u64({}, v);
    };
    gauge("nbthread", "Worker threads.", src.nworkers);
    gauge("nbproc", "Processes (always 1).", 1);
    gauge("relative_process_id", "Relative process number (always 1).", 1);
    gauge("uptime_seconds", "Seconds since the process started.", now_ms > g_prom_start_ms ? (now_ms - g_prom_start_ms) / 1000 : 0);
    gauge("start_time_seconds", "Start time of the process, seconds since the Unix epoch.",
          static_cast<std::uint64_t>(g_prom_start_wall_s));
    gauge("max_memory_bytes", "Memory limit (0: none).", 0);
    gauge("pool_allocated_bytes", "Bytes allocated in memory pools (not tracked: 0).", 0);
    gauge("pool_used_bytes", "Bytes used in memory pools (not tracked: 0).", 0);
    counter("pool_failures_total", "Failed pool allocations.", 0);
    gauge("max_fds", "Descriptor limit (ulimit-n).", nofile);
    gauge("max_sockets", "Socket limit.", nofile);
    gauge("max_connections", "Connection limit (global maxconn).", maxconn);
    gauge("hard_max_connections", "Hard connection limit.", maxconn);
    gauge("current_connections", "Client connections in progress.", cur);
    counter("connections_total", "Client connections accepted since the process started.", cum);
    counter("requests_total", "HTTP requests received since the process started.", req);
    gauge("max_ssl_connections", "SSL connection limit (0: none).", 0);
    const TlsTotals tls = src.tls_totals ? src.tls_totals() : TlsTotals{};   // as show info's CurrSslConns/CumSslConns
    gauge("current_ssl_connections", "SSL connections in progress.", tls.fe_open + tls.be_open);
    counter("ssl_connections_total", "SSL connections since the process started.", tls.fe_handshakes);
    gauge("max_pipes", "Pipe limit for splicing (none used).", 0);
    counter("pipes_used_total", "Pipes in use.", 0);
    counter("pipes_free_total", "Pipes allocated and free.", 0);
    gauge("limit_connection_rate", "Limit of new connections per second (0: none).", 0);
    gauge("limit_session_rate", "Limit of new sessions per second (0: none).", 0);
    gauge("limit_ssl_rate", "Limit of new SSL sessions per second (0: none).", 0);
    counter("ssl_cache_lookups_total", "SSL session cache lookups.", 0);
    counter("ssl_cache_misses_total", "SSL session cache misses.", 0);
    counter("http_comp_bytes_in_total", "Bytes given to the HTTP compressor.", 0);
    counter("http_comp_bytes_out_total", "Bytes out of the HTTP compressor.", 0);
    gauge("limit_http_comp", "Compression output rate limit (0: none).", 0);
    gauge("current_zlib_memory", "Memory used by compression.", 0);
    gauge("max_zlib_memory", "Memory limit of compression (0: none).", 0);
    gauge("current_tasks", "Tasks: client connections and listeners.", cur + static_cast<std::uint64_t>(listeners));
    gauge("current_run_queue", "Tasks waiting to run.", 0);
    gauge("stopping", "1 while the process is stopping.", stopping ? 1 : 0);
    gauge("jobs", "Active jobs: client connections and listeners.", cur + static_cast<std::uint64_t>(listeners));
    gauge("unstoppable_jobs", "Jobs that block a stop.", 0);
    gauge("listeners", "Listening sockets.", static_cast<std::uint64_t>(listeners));
    gauge("active_peers", "Active peers.", 0);
    gauge("connected_peers", "Connected peers.", 0);
    counter("dropped_logs_total", "Log lines dropped since the process started.", src.dropped_logs ? src.dropped_logs() : 0);
    gauge("busy_polling_enabled", "1 when busy polling is on.", 0);
    counter("failed_resolutions", "Failed DNS resolutions.", 0);
    counter("bytes_out_total", "Bytes sent to clients since the process started.", out);
    counter("spliced_bytes_out_total", "Bytes sent through kernel pipes.", 0);
    counter("recv_logs_total", "Log lines received by log forwarding.", 0);
    w.begin(kPrefix, "build_info", false, "Build information: the version label.");
    w.u64({{"version", SKJOLD_VERSION}}, 1);
}

namespace {

// One row's value of a plain (single-line) metric, with the labels already chosen.
void prom_put_value(PromWriter& w, std::initializer_list<PromWriter::Label> labels, const PrometheusExporter::NumRow& r,
                    StatField f) {
    const std::size_t i = static_cast<std::size_t>(f);
    switch (r.kind[i]) {
    case StatValue::Kind::u64:
        if (prom_time_average(f)) w.seconds(labels, static_cast<double>(r.v[i]) / 1000.0);
        else w.u64(labels, r.v[i]);
        return;
    case StatValue::Kind::s64: w.s64(labels, static_cast<std::int64_t>(r.v[i])); return;
    case StatValue::Kind::empty:
    case StatValue::Kind::str: w.nan(labels); return;
    }
}

}  // namespace

void PrometheusExporter::frontend_metrics(PromWriter& w, const StatsSource& src) {
    static constexpr std::string_view kPrefix = "haproxy_frontend_";
    const auto& proxies = src.snap->proxies;
    for (const PromStatMetric& m : kPromPromStatMetrics) {
        if (!(m.objects & kPromFe)) continue;
        w.begin(kPrefix, m.name, m.counter, m.help);
        for (std::size_t i = 0; i < proxies.size(); ++i) {
            const conf::Proxy& p = proxies[i];
            if (!p.is_frontend || p.disabled) continue;
            if (m.http_only && p.mode != conf::Mode::http) continue;
            const NumRow& r = fe_rows_[i];
            const std::string_view name = p.name;
            if (m.field == StatField::status) {
                w.u64({{"proxy", name}, {"state", "DOWN"}}, 0);
                w.u64({{"proxy", name}, {"state", "UP"}}, 1);
            } else if (m.field == StatField::hrsp_1xx) {
                for (std::size_t c = 0; c < std::size(kPromResponseClasses); ++c)
                    prom_put_value(w, {{"proxy", name}, {"code", kPromResponseClasses[c]}}, r,
                              static_cast<StatField>(static_cast<std::size_t>(StatField::hrsp_1xx) + c));
            } else {
                prom_put_value(w, {{"proxy", name}}, r, m.field);
            }
        }
    }
}

void PrometheusExporter::backend_metrics(PromWriter& w, const StatsSource& src) {
    static constexpr std::string_view kPrefix = "haproxy_backend_";
    const auto& proxies = src.snap->proxies;
    for (const PromStatMetric& m : kPromPromStatMetrics) {
        if (!(m.objects & kPromBe)) continue;
        w.begin(kPrefix, m.name, m.counter, m.help);
        for (std::size_t i = 0; i < proxies.size(); ++i) {
            const conf::Proxy& p = proxies[i];
            const health::BackendState* be = src.state != nullptr ? src.state->backend(static_cast<int>(i)) : nullptr;
            if (!p.is_backend || p.disabled || be == nullptr) continue;
            if (m.http_only && p.mode != conf::Mode::http) continue;
            const NumRow& r = be_rows_[i];
            const std::string_view name = p.name;
            if (m.field == StatField::status) {
                const bool up = backend_weights(*be).up;
                w.u64({{"proxy", name}, {"state", "DOWN"}}, up ? 0 : 1);
                w.u64({{"proxy", name}, {"state", "UP"}}, up ? 1 : 0);
            } else if (m.field == StatField::hrsp_1xx) {
                for (std::size_t c = 0; c < std::size(kPromResponseClasses); ++c)
                    prom_put_value(w, {{"proxy", name}, {"code", kPromResponseClasses[c]}}, r,
                              static_cast<StatField>(static_cast<std::size_t>(StatField::hrsp_1xx) + c));
            } else {
                prom_put_value(w, {{"proxy", name}}, r, m.field);
            }
        }
    }
}

void PrometheusExporter::server_metrics(PromWriter& w, const StatsSource& src, bool no_maint) {
    static constexpr std::string_view kPrefix = "haproxy_server_";
    static constexpr std::string_view kServerStates[] = {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"};
    const auto& proxies = src.snap->proxies;
    for (const PromStatMetric& m : kPromPromStatMetrics) {
        if (!(m.objects & kPromSrv)) continue;
        w.begin(kPrefix, m.name, m.counter, m.help);
        for (std::size_t i = 0; i < proxies.size(); ++i) {
            const conf::Proxy& p = proxies[i];
            const health::BackendState* be = src.state != nullptr ? src.state->backend(static_cast<int>(i)) : nullptr;
            if (!p.is_backend || p.disabled || be == nullptr) continue;
            if (m.http_only && p.mode != conf::Mode::http) continue;
            for (std::size_t s = 0; s < srv_rows_[i].size(); ++s) {
                const health::ServerState& st = be->server(static_cast<int>(s));
                if (no_maint && st.admin() == health::Admin::maint) continue;
                const NumRow& r = srv_rows_[i][s];
                const std::string_view px = p.name, sv = p.servers[s].name;
                switch (m.field) {
                case StatField::status: {
                    const std::string_view cur = prom_server_state(st);
                    for (std::string_view state : kServerStates)
                        w.u64({{"proxy", px}, {"server", sv}, {"state", state}}, state == cur ? 1 : 0);
                    break;
                }
                case StatField::check_status: {
                    if (!checks_running(st)) break;
                    const health::CheckStats* chk = src.check_stats ? src.check_stats(static_cast<int>(i), static_cast<int>(s)) : nullptr;
                    const std::string_view cur =
                        health::check_status_name(chk != nullptr ? chk->status() : health::CheckStatus::ini);
                    for (std::string_view state : kPromCheckStates)
                        w.u64({{"proxy", px}, {"server", sv}, {"state", state}}, state == cur ? 1 : 0);
                    break;
                }
                case StatField::check_code: {
                    if (!checks_running(st)) break;
                    const health::CheckStats* chk = src.check_stats ? src.check_stats(static_cast<int>(i), static_cast<int>(s)) : nullptr;
                    const bool has_code = chk != nullptr && health::check_status_has_code(chk->status());
                    w.u64({{"proxy", px}, {"server", sv}}, has_code ? static_cast<std::uint64_t>(chk->code()) : 0);
                    break;
                }
                case StatField::check_duration: {
                    // Only once a check has finished (HAProxy: status past INI).
                    const health::CheckStats* chk = src.check_stats ? src.check_stats(static_cast<int>(i), static_cast<int>(s)) : nullptr;
                    if (chk == nullptr || chk->duration_ms() < 0) break;
                    w.seconds({{"proxy", px}, {"server", sv}}, static_cast<double>(chk->duration_ms()) / 1000.0);
                    break;
                }
                case StatField::hrsp_1xx:
                    for (std::size_t c = 0; c < std::size(kPromResponseClasses); ++c)
                        prom_put_value(w, {{"proxy", px}, {"server", sv}, {"code", kPromResponseClasses[c]}}, r,
                                  static_cast<StatField>(static_cast<std::size_t>(StatField::hrsp_1xx) + c));
                    break;
                default: prom_put_value(w, {{"proxy", px}, {"server", sv}}, r, m.field); break;
                }
            }
        }
    }
}

}  // namespace skjold::proxy
