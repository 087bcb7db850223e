#pragma once
// `http-request use-service prometheus-exporter`: HAProxy 2.6's Prometheus page (its promex
// service): the metric names haproxy_process_*, haproxy_frontend_*, haproxy_backend_* and
// haproxy_server_*, the labels proxy / server / state / code, `# HELP` and `# TYPE` before each
// metric, text format 0.0.4. The values are the stats socket's: the same rows `show stat` prints
// (stats_csv.hh) and the same process figures as `show info`, so both always agree.
//
// What skjold leaves out, because only the stats thread keeps it (StatsHistory): the rates and
// their maxima (haproxy_process_current_*_rate, *_rate_max, max_session_rate, idle_time_percent)
// and the backend UP/DOWN history (haproxy_backend_check_up_down_total, _check_last_change_seconds,
// _downtime_seconds_total). `clear counters all` does not reset what this page shows (Prometheus
// counters only grow; rate() handles a restart).
//
// Owner: one per HttpEngine (one per worker and configuration generation), used on that worker's
// thread only. Rendering reads atomics only (every worker's counters, the server state table, the
// checker's results): no lock, nothing blocks. Pages live in reusable buffers, one per scrape in
// flight on this worker (up to kMaxPages): once they have grown to the page's size, rendering
// allocates nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/shared.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_csv.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy {

class PromWriter;   // prometheus_exporter.cc

// Which parts of the page a scrape asks for: HAProxy's query string, `scope=NAME` (global,
// frontend, backend, server, listener, sticktable, `*` for all, empty for none; repeatable; the
// first one replaces the default "all") and `no-maint` (leave out servers in MAINT).
struct PromScope {
    bool global = true, frontend = true, backend = true, server = true;
    bool no_maint = false;
};

// Parses the query string (after '?', without it; may be empty). false: malformed, or an unknown
// scope (HAProxy answers 400).
bool parse_prom_query(std::string_view query, PromScope& out) noexcept;

class PrometheusExporter {
public:
    static constexpr int kMaxPages = 8;

    // Reads the generation's Snapshot, state table and counters through `sh` (which outlives it).
    explicit PrometheusExporter(const Shared& sh);
    ~PrometheusExporter();
    PrometheusExporter(const PrometheusExporter&) = delete;
    PrometheusExporter& operator=(const PrometheusExporter&) = delete;

    struct Page {
        const char* data = nullptr;   // the whole response: head, then the body
        std::uint32_t len = 0;        // head only for a HEAD request
        int id = -1;                  // -1: no page (every buffer is in use, or out of memory)
    };
    // Renders a complete `200 OK` response. `view`: the generation's StatsSource as the process
    // builds it (health checker, dropped logs); null: the page has no check results and
    // dropped_logs_total is 0. `conn_header` is connection_reply()'s line (may be empty);
    // `stopping`: the worker is stopping (haproxy_process_stopping). The page stays valid until
    // release(id).
    Page render(const StatsSource* view, const PromScope& scope, std::string_view conn_header, bool head_only,
                bool stopping, std::uint64_t now_ms) noexcept;
    void release(int id) noexcept;

    // Bytes of the largest page rendered so far (for tests and the man page's sizing note).
    std::size_t largest_page() const noexcept { return largest_; }

    // The numbers of one `show stat` row (StatRow without its text), kept for the whole page
    // because the page is written metric by metric across every row.
    struct NumRow {
        std::array<std::uint64_t, kStatFieldCount> v{};
        std::array<StatValue::Kind, kStatFieldCount> kind{};
    };

private:
    struct Buffer {
        std::string text;
        int users = 0;
    };

    void fill_rows(const StatsSource& src, std::uint64_t now_ms);
    void process_metrics(PromWriter& w, const StatsSource& src, bool stopping, std::uint64_t now_ms);
    void frontend_metrics(PromWriter& w, const StatsSource& src);
    void backend_metrics(PromWriter& w, const StatsSource& src);
    void server_metrics(PromWriter& w, const StatsSource& src, bool no_maint);

    StatsSource base_;   // from Shared: no checker, no log drain
    CounterView counters_;
    std::unique_ptr<StatRow> row_;
    std::vector<NumRow> fe_rows_, be_rows_;          // by proxy index
    std::vector<std::vector<NumRow>> srv_rows_;      // by proxy index, then server index
    std::array<Buffer, kMaxPages> pages_;
    std::size_t largest_ = 0;
};

}  // namespace skjold::proxy
