#include "proxy/stats_counters.hh"

#include <algorithm>
#include <sys/resource.h>

#include "core/worker.hh"
#include "health/check_status.hh"

namespace skjold::proxy {

namespace {

struct ProxyField {
    core::Counter ProxyCounters::*member;
    CounterKind kind;
};
struct ServerField {
    core::Counter ServerCounters::*member;
    CounterKind kind;
};

constexpr CounterKind kCum = CounterKind::cumulative;

// In Pc order.
constexpr ProxyField kProxyFields[] = {
    {&ProxyCounters::cur_conn, CounterKind::gauge},
    {&ProxyCounters::cum_conn, kCum},
    {&ProxyCounters::denied_conn, kCum},
    {&ProxyCounters::bytes_in, kCum},
    {&ProxyCounters::bytes_out, kCum},
    {&ProxyCounters::conn_errors, kCum},
    {&ProxyCounters::retries, kCum},
    {&ProxyCounters::redispatches, kCum},
    {&ProxyCounters::no_server, kCum},
    {&ProxyCounters::timeouts, kCum},
    {&ProxyCounters::max_conn, CounterKind::maximum},
    {&ProxyCounters::max_queue, CounterKind::maximum},
    {&ProxyCounters::cur_queue, CounterKind::gauge},
    {&ProxyCounters::lbtot, kCum},
    {&ProxyCounters::req_tot, kCum},
    {&ProxyCounters::hrsp_1xx, kCum},
    {&ProxyCounters::hrsp_2xx, kCum},
    {&ProxyCounters::hrsp_3xx, kCum},
    {&ProxyCounters::hrsp_4xx, kCum},
    {&ProxyCounters::hrsp_5xx, kCum},
    {&ProxyCounters::hrsp_other, kCum},
    {&ProxyCounters::failed_req, kCum},
    {&ProxyCounters::denied_req, kCum},
    {&ProxyCounters::denied_resp, kCum},
    {&ProxyCounters::failed_resp, kCum},
    {&ProxyCounters::cli_abrt, kCum},
    {&ProxyCounters::srv_abrt, kCum},
    {&ProxyCounters::intercepted, kCum},
    {&ProxyCounters::comp_in, kCum},
    {&ProxyCounters::comp_out, kCum},
    {&ProxyCounters::comp_byp, kCum},
    {&ProxyCounters::comp_rsp, kCum},
    {&ProxyCounters::internal_errors, kCum},
    {&ProxyCounters::connect_attempts, kCum},
    {&ProxyCounters::reuse, kCum},
    {&ProxyCounters::wrew, kCum},
    {&ProxyCounters::ctime_sum, kCum},
    {&ProxyCounters::ctime_n, kCum},
    {&ProxyCounters::rtime_sum, kCum},
    {&ProxyCounters::rtime_n, kCum},
    {&ProxyCounters::ttime_sum, kCum},
    {&ProxyCounters::ttime_n, kCum},
    {&ProxyCounters::last_sess, CounterKind::timestamp},
    {&ProxyCounters::qtime_sum, kCum},
    {&ProxyCounters::qtime_n, kCum},
};
static_assert(std::size(kProxyFields) == kProxyCounterCount, "kProxyFields must follow Pc");

// In Sc order.
constexpr ServerField kServerFields[] = {
    {&ServerCounters::cur_conn, CounterKind::gauge},
    {&ServerCounters::cum_conn, kCum},
    {&ServerCounters::conn_errors, kCum},
    {&ServerCounters::bytes_in, kCum},
    {&ServerCounters::bytes_out, kCum},
    {&ServerCounters::max_conn, CounterKind::maximum},
    {&ServerCounters::lbtot, kCum},
    {&ServerCounters::retries, kCum},
    {&ServerCounters::redispatches, kCum},
    {&ServerCounters::failed_resp, kCum},
    {&ServerCounters::cli_abrt, kCum},
    {&ServerCounters::srv_abrt, kCum},
    {&ServerCounters::req_tot, kCum},
    {&ServerCounters::hrsp_1xx, kCum},
    {&ServerCounters::hrsp_2xx, kCum},
    {&ServerCounters::hrsp_3xx, kCum},
    {&ServerCounters::hrsp_4xx, kCum},
    {&ServerCounters::hrsp_5xx, kCum},
    {&ServerCounters::hrsp_other, kCum},
    {&ServerCounters::connect_attempts, kCum},
    {&ServerCounters::reuse, kCum},
    {&ServerCounters::internal_errors, kCum},
    {&ServerCounters::ctime_sum, kCum},
    {&ServerCounters::ctime_n, kCum},
    {&ServerCounters::rtime_sum, kCum},
    {&ServerCounters::rtime_n, kCum},
    {&ServerCounters::ttime_sum, kCum},
    {&ServerCounters::ttime_n, kCum},
    {&ServerCounters::last_sess, CounterKind::timestamp},
    {&ServerCounters::qtime_sum, kCum},
    {&ServerCounters::qtime_n, kCum},
};
static_assert(std::size(kServerFields) == kServerCounterCount, "kServerFields must follow Sc");

void combine(std::uint64_t& into, std::uint64_t v, CounterKind k) noexcept {
    if (k == CounterKind::timestamp) into = std::max(into, v);
    else into += v;
}

std::uint64_t sub_floor(std::uint64_t a, std::uint64_t b) noexcept { return a > b ? a - b : 0; }

std::uint64_t process_cpu_us() noexcept {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    auto us = [](const timeval& t) {
        return static_cast<std::uint64_t>(t.tv_sec) * 1000000u + static_cast<std::uint64_t>(t.tv_usec);
    };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

void sample(Rate& r, std::uint64_t now, std::uint64_t before, std::uint64_t elapsed_ms) noexcept {
    r.cur = sub_floor(now, before) * 1000 / (elapsed_ms ? elapsed_ms : 1);
    r.max = std::max(r.max, r.cur);
}

}  // namespace

void sum_counters(const conf::Snapshot& snap, const std::vector<std::unique_ptr<WorkerStats>>& workers,
                  std::vector<ProxySums>& proxies, std::vector<std::vector<ServerSums>>& servers) {
    proxies.assign(snap.proxies.size(), ProxySums{});
    servers.assign(snap.proxies.size(), {});
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) servers[p].assign(snap.proxies[p].servers.size(), ServerSums{});
    for (const auto& w : workers) {
        for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
            const ProxyCounters& pc = w->proxies[p];
            for (std::size_t f = 0; f < kProxyCounterCount; ++f)
                combine(proxies[p].v[f], (pc.*kProxyFields[f].member).read(), kProxyFields[f].kind);
            const ServerCounters* sc = w->servers[p].get();
            for (std::size_t s = 0; s < servers[p].size(); ++s)
                for (std::size_t f = 0; f < kServerCounterCount; ++f)
                    combine(servers[p][s].v[f], (sc[s].*kServerFields[f].member).read(), kServerFields[f].kind);
        }
    }
}

BackendWeights backend_weights(const health::BackendState& b) noexcept {
    BackendWeights r;
    int wact = 0, wbck = 0, uact = 0, ubck = 0;
    for (int i = 0; i < b.size(); ++i) {
        const auto& s = b.server(i);
        if (!health::usable(s)) continue;
        if (s.backup()) {
            ++r.bck;
            wbck += s.weight();
            ubck += s.user_weight();
        } else {
            ++r.act;
            wact += s.weight();
            uact += s.user_weight();
        }
    }
    // HAProxy balances on the backups only when no active server is usable.
    r.weight = r.act > 0 ? wact : wbck;
    r.uweight = r.act > 0 ? uact : ubck;
    r.up = r.weight > 0 || b.size() == 0;
    return r;
}

namespace {

// Every worker's counters, plus what the checker and the state table count per server.
void sum_with_checks(const StatsSource& src, std::uint64_t now, std::vector<ProxySums>& p,
                     std::vector<std::vector<ServerSums>>& s) {
    sum_counters(*src.snap, *src.workers, p, s);
    for (std::size_t px = 0; px < s.size(); ++px) {
        const health::BackendState* b = src.state ? src.state->backend(static_cast<int>(px)) : nullptr;
        for (std::size_t sv = 0; sv < s[px].size(); ++sv) {
            if (src.check_stats) {
                if (const health::CheckStats* cs = src.check_stats(static_cast<int>(px), static_cast<int>(sv))) {
                    s[px][sv].chkfail = cs->failed_checks();
                    s[px][sv].chkdown = cs->down_transitions();
                }
            }
            if (b != nullptr && static_cast<int>(sv) < b->size())
                s[px][sv].downtime_ms = b->server(static_cast<int>(sv)).downtime_ms(now);
        }
    }
}

// A maximum is never below the current value (the session code may not have noted it yet).
void raise_maxima(CounterView& v) noexcept {
    for (auto& p : v.proxies) p[Pc::max_conn] = std::max(p[Pc::max_conn], p[Pc::cur_conn]);
    for (auto& ss : v.servers)
        for (auto& s : ss) s[Sc::max_conn] = std::max(s[Sc::max_conn], s[Sc::cur_conn]);
}

}  // namespace

void current_counters(const StatsSource& src, std::uint64_t now_ms, CounterView& v) {
    sum_with_checks(src, now_ms, v.proxies, v.servers);
    raise_maxima(v);
    const auto& proxies = src.snap->proxies;
    v.proxy_rates.assign(proxies.size(), ProxyRates{});
    v.backends.assign(proxies.size(), BackendHistory{});
    v.server_rates.resize(proxies.size());
    for (std::size_t p = 0; p < proxies.size(); ++p) v.server_rates[p].assign(proxies[p].servers.size(), Rate{});
}

void StatsHistory::raw(const StatsSource& src, std::vector<ProxySums>& p,
                       std::vector<std::vector<ServerSums>>& s) const {
    sum_with_checks(src, core::monotonic_ms(), p, s);
}

void StatsHistory::reset(const StatsSource& src, std::uint64_t now_ms) {
    std::size_t n = src.snap->proxies.size();
    base_proxies_.assign(n, ProxySums{});
    base_servers_.assign(n, {});
    proxy_rates_.assign(n, ProxyRates{});
    server_rates_.assign(n, {});
    backends_.assign(n, BackendHistory{});
    for (std::size_t p = 0; p < n; ++p) {
        base_servers_[p].assign(src.snap->proxies[p].servers.size(), ServerSums{});
        server_rates_[p].assign(src.snap->proxies[p].servers.size(), Rate{});
    }
    raw(src, last_proxies_, last_servers_);
    process_ = ProcessRates{};
    last_tls_ = src.tls_totals ? src.tls_totals() : TlsTotals{};
    base_tls_ = TlsTotals{};
    last_tick_ms_ = now_ms;
    last_cpu_us_ = process_cpu_us();
    tick(src, now_ms);   // backend states as they are now
}

void StatsHistory::tick(const StatsSource& src, std::uint64_t now_ms) {
    // Backend UP/DOWN transitions: every call (cheap), so a short outage between two rate
    // samples is still seen when a command runs.
    for (std::size_t p = 0; p < backends_.size(); ++p) {
        const health::BackendState* b = src.state ? src.state->backend(static_cast<int>(p)) : nullptr;
        if (b == nullptr) continue;
        bool up = backend_weights(*b).up;
        BackendHistory& h = backends_[p];
        if (!h.seen) {
            h.seen = true;
            h.up = up;
            h.last_change_ms = now_ms;
            if (!up) h.down_since_ms = now_ms;
        } else if (up != h.up) {
            h.up = up;
            h.last_change_ms = now_ms;
            if (up) {
                h.downtime_ms += now_ms - h.down_since_ms;
            } else {
                h.down_since_ms = now_ms;
                ++h.chkdown;
            }
        }
    }

    // CumSslConns and CurrSslConns: every call, as the other counters are summed when asked.
    const TlsTotals tls = src.tls_totals ? src.tls_totals() : TlsTotals{};
    process_.ssl_cum = sub_floor(tls.fe_handshakes, base_tls_.fe_handshakes);
    process_.ssl_cur = tls.fe_open + tls.be_open;
    std::uint64_t elapsed = now_ms - last_tick_ms_;
    if (elapsed < 1000) return;
    std::vector<ProxySums> p;
    std::vector<std::vector<ServerSums>> s;
    raw(src, p, s);
    std::uint64_t conn = 0, conn_before = 0, sess = 0, sess_before = 0, req = 0, req_before = 0, out = 0, out_before = 0;
    for (std::size_t px = 0; px < p.size() && px < last_proxies_.size(); ++px) {
        const ProxySums& a = p[px];
        const ProxySums& b = last_proxies_[px];
        ProxyRates& r = proxy_rates_[px];
        std::uint64_t stot = sub_floor(a[Pc::cum_conn], a[Pc::denied_conn]);
        std::uint64_t stot_before = sub_floor(b[Pc::cum_conn], b[Pc::denied_conn]);
        bool fe = src.snap->proxies[px].is_frontend;
        // A frontend's sessions are the connections its rules accepted; a backend's are the
        // sessions it was given (its cum_conn).
        if (fe) sample(r.sess, stot, stot_before, elapsed);
        else sample(r.sess, a[Pc::cum_conn], b[Pc::cum_conn], elapsed);
        sample(r.conn, a[Pc::cum_conn], b[Pc::cum_conn], elapsed);
        sample(r.req, a[Pc::req_tot], b[Pc::req_tot], elapsed);
        if (fe) {
            conn += a[Pc::cum_conn];
            conn_before += b[Pc::cum_conn];
            sess += stot;
            sess_before += stot_before;
            req += a[Pc::req_tot];
            req_before += b[Pc::req_tot];
            out += a[Pc::bytes_out];
            out_before += b[Pc::bytes_out];
        }
        for (std::size_t sv = 0; sv < s[px].size() && sv < last_servers_[px].size(); ++sv)
            sample(server_rates_[px][sv], s[px][sv][Sc::cum_conn], last_servers_[px][sv][Sc::cum_conn], elapsed);
    }
    sample(process_.conn, conn, conn_before, elapsed);
    sample(process_.sess, sess, sess_before, elapsed);
    sample(process_.req, req, req_before, elapsed);
    sample(process_.bytes_out, out, out_before, elapsed);
    std::uint64_t cpu = process_cpu_us();
    std::uint64_t capacity_us = elapsed * 1000 * (src.nworkers ? src.nworkers : 1);
    std::uint64_t used = std::min(sub_floor(cpu, last_cpu_us_), capacity_us);
    process_.idle_pct = static_cast<int>(100 - used * 100 / capacity_us);
    last_cpu_us_ = cpu;
    const TlsTotals& tb = last_tls_;
    sample(process_.ssl, tls.fe_handshakes, tb.fe_handshakes, elapsed);
    sample(process_.ssl_fe_key, sub_floor(tls.fe_handshakes, tls.fe_resumed),
           sub_floor(tb.fe_handshakes, tb.fe_resumed), elapsed);
    sample(process_.ssl_be_key, sub_floor(tls.be_handshakes, tls.be_resumed),
           sub_floor(tb.be_handshakes, tb.be_resumed), elapsed);
    const std::uint64_t shakes = sub_floor(tls.fe_handshakes, tb.fe_handshakes);
    process_.ssl_reuse_pct =
        shakes == 0 ? 0 : static_cast<int>(sub_floor(tls.fe_resumed, tb.fe_resumed) * 100 / shakes);
    last_tls_ = tls;
    last_proxies_ = std::move(p);
    last_servers_ = std::move(s);
    last_tick_ms_ = now_ms;
}

CounterView StatsHistory::view(const StatsSource& src, std::uint64_t now_ms) const {
    CounterView v;
    raw(src, v.proxies, v.servers);
    for (std::size_t p = 0; p < v.proxies.size() && p < base_proxies_.size(); ++p) {
        for (std::size_t f = 0; f < kProxyCounterCount; ++f)
            if (kProxyFields[f].kind == kCum) v.proxies[p].v[f] = sub_floor(v.proxies[p].v[f], base_proxies_[p].v[f]);
        for (std::size_t s = 0; s < v.servers[p].size() && s < base_servers_[p].size(); ++s) {
            ServerSums& a = v.servers[p][s];
            const ServerSums& b = base_servers_[p][s];
            for (std::size_t f = 0; f < kServerCounterCount; ++f)
                if (kServerFields[f].kind == kCum) a.v[f] = sub_floor(a.v[f], b.v[f]);
            a.chkfail = sub_floor(a.chkfail, b.chkfail);
            a.chkdown = sub_floor(a.chkdown, b.chkdown);
            a.downtime_ms = sub_floor(a.downtime_ms, b.downtime_ms);
        }
    }
    raise_maxima(v);
    v.proxy_rates = proxy_rates_;
    v.server_rates = server_rates_;
    v.backends = backends_;
    for (auto& h : v.backends)   // count the DOWN period in progress
        if (h.seen && !h.up) h.downtime_ms += now_ms - h.down_since_ms;
    return v;
}

void StatsHistory::clear_max(const StatsSource& src) {
    // The one write into the workers' counters: resetting a maximum. A worker that raises it at
    // the same moment overwrites the 0 with a value it just saw, which is a correct maximum.
    for (const auto& w : *src.workers) {
        for (std::size_t p = 0; p < src.snap->proxies.size(); ++p) {
            for (std::size_t f = 0; f < kProxyCounterCount; ++f)
                if (kProxyFields[f].kind == CounterKind::maximum) (w->proxies[p].*kProxyFields[f].member).set(0);
            for (std::size_t s = 0; s < src.snap->proxies[p].servers.size(); ++s)
                for (std::size_t f = 0; f < kServerCounterCount; ++f)
                    if (kServerFields[f].kind == CounterKind::maximum) (w->servers[p][s].*kServerFields[f].member).set(0);
        }
    }
    for (auto& r : proxy_rates_) r.sess.max = r.conn.max = r.req.max = 0;
    for (auto& v : server_rates_)
        for (auto& r : v) r.max = 0;
    process_.conn.max = process_.sess.max = process_.req.max = process_.bytes_out.max = 0;
    process_.ssl.max = process_.ssl_fe_key.max = process_.ssl_be_key.max = 0;
}

void StatsHistory::clear_all(const StatsSource& src, std::uint64_t now_ms) {
    clear_max(src);
    raw(src, base_proxies_, base_servers_);
    base_tls_ = src.tls_totals ? src.tls_totals() : TlsTotals{};
    process_.ssl_cum = 0;
    for (auto& h : backends_) {
        h.chkdown = 0;
        h.downtime_ms = 0;
        if (h.seen && !h.up) h.down_since_ms = now_ms;
    }
}

}  // namespace skjold::proxy
