// The Prometheus page from a Snapshot and hand-set counters (no workers): names, labels, values
// that follow the counters and server states, the query string, and the page buffers.

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "proxy/prometheus_exporter.hh"
#include "stats_fixture.hh"

namespace skjold::proxy {
namespace {

using test::StatsFixture;

constexpr std::string_view kConfig =
    "defaults\n"
    "    mode http\n"
    "    timeout connect 1s\n"
    "    timeout client 5s\n"
    "    timeout server 5s\n"
    "frontend fe\n"
    "    bind 127.0.0.1:0\n"
    "    default_backend be\n"
    "backend be\n"
    "    server s1 127.0.0.1:9001 check\n"
    "    server s2 127.0.0.1:9002 maxconn 7 weight 3\n"
    "    server s3 127.0.0.1:9003 disabled\n"
    "listen raw\n"
    "    mode tcp\n"
    "    bind 127.0.0.1:0\n"
    "    server r1 127.0.0.1:9005\n";

// The exporter over the fixture's Snapshot, state table and counters.
struct Exporter {
    Shared sh;
    std::unique_ptr<PrometheusExporter> exp;
    explicit Exporter(StatsFixture& f) {
        sh.snap = f.snap;
        sh.nworkers = 2;
        sh.global_maxconn = 1000;
        exp = std::make_unique<PrometheusExporter>(sh);
    }
    // The body of a page rendered with the fixture's StatsSource; the page is released.
    std::string body(StatsFixture& f, const PromScope& scope = {}) {
        auto page = exp->render(&f.src, scope, "", false, false, core::monotonic_ms());
        REQUIRE(page.id >= 0);
        std::string all(page.data, page.len);
        exp->release(page.id);
        std::size_t end = all.find("\r\n\r\n");
        REQUIRE(end != std::string::npos);
        return all.substr(end + 4);
    }
};

bool has_line(const std::string& body, std::string_view line) {
    return body.find("\n" + std::string(line) + "\n") != std::string::npos;
}

TEST_CASE("the page has HAProxy's names, HELP and TYPE once per metric, and values from every worker") {
    StatsFixture f(kConfig);
    Exporter e(f);
    f.workers[0]->proxies[0].req_tot.add(3);
    f.workers[1]->proxies[0].req_tot.add(4);
    f.workers[0]->proxies[0].hrsp_2xx.add(5);
    f.workers[1]->servers[1][1].cum_conn.add(2);
    f.workers[1]->proxies[1].ctime_sum.add(30);
    f.workers[1]->proxies[1].ctime_n.add(2);
    std::string b = e.body(f);
    INFO(b.substr(0, 3000));
    CHECK(has_line(b, "haproxy_process_nbthread 2"));
    CHECK(has_line(b, "haproxy_process_max_connections 1000"));
    CHECK(has_line(b, "haproxy_process_requests_total 7"));
    CHECK(has_line(b, "# TYPE haproxy_frontend_http_requests_total counter"));
    CHECK(has_line(b, "haproxy_frontend_http_requests_total{proxy=\"fe\"} 7"));
    CHECK(has_line(b, "haproxy_frontend_http_responses_total{proxy=\"fe\",code=\"2xx\"} 5"));
    CHECK(has_line(b, "haproxy_server_sessions_total{proxy=\"be\",server=\"s2\"} 2"));
    CHECK(has_line(b, "haproxy_server_limit_sessions{proxy=\"be\",server=\"s2\"} 7"));
    CHECK(has_line(b, "haproxy_server_limit_sessions{proxy=\"be\",server=\"s1\"} NaN"));
    CHECK(has_line(b, "haproxy_server_uweight{proxy=\"be\",server=\"s2\"} 3"));
    CHECK(has_line(b, "haproxy_backend_connect_time_average_seconds{proxy=\"be\"} 0.015000"));
    CHECK(has_line(b, "haproxy_server_status{proxy=\"be\",server=\"s3\",state=\"MAINT\"} 1"));
    // tcp proxies have no HTTP metrics (HAProxy leaves them out too).
    CHECK(b.find("haproxy_frontend_http_requests_total{proxy=\"raw\"}") == std::string::npos);
    CHECK(b.find("haproxy_frontend_current_sessions{proxy=\"raw\"}") != std::string::npos);
    // One header per family, even for http_responses_total's six classes.
    std::size_t first = b.find("# TYPE haproxy_frontend_http_responses_total");
    REQUIRE(first != std::string::npos);
    CHECK(b.find("# TYPE haproxy_frontend_http_responses_total", first + 1) == std::string::npos);
    CHECK(b.find("# HELP haproxy_frontend_http_responses_total") < first);
}

TEST_CASE("server states and check results follow the state table and the checker") {
    StatsFixture f(kConfig);
    Exporter e(f);
    health::BackendState& be = *f.table->backend(1);
    std::string b = e.body(f);
    CHECK(has_line(b, "haproxy_server_status{proxy=\"be\",server=\"s1\",state=\"UP\"} 1"));
    CHECK(has_line(b, "haproxy_server_check_status{proxy=\"be\",server=\"s1\",state=\"L4OK\"} 0"));   // INI: none is 1
    CHECK(b.find("haproxy_server_check_status{proxy=\"be\",server=\"s2\"") == std::string::npos);      // no check
    be.set_health_down(0);
    be.set_admin(1, health::Admin::drain);
    b = e.body(f);
    CHECK(has_line(b, "haproxy_server_status{proxy=\"be\",server=\"s1\",state=\"DOWN\"} 1"));
    CHECK(has_line(b, "haproxy_server_status{proxy=\"be\",server=\"s1\",state=\"UP\"} 0"));
    CHECK(has_line(b, "haproxy_server_status{proxy=\"be\",server=\"s2\",state=\"DRAIN\"} 1"));
    CHECK(has_line(b, "haproxy_backend_active_servers{proxy=\"be\"} 0"));
    CHECK(has_line(b, "haproxy_backend_status{proxy=\"be\",state=\"DOWN\"} 1"));
}

TEST_CASE("the query string selects scopes and no-maint; unknown scopes are refused") {
    PromScope s;
    CHECK(parse_prom_query("", s));
    CHECK((s.global && s.frontend && s.backend && s.server && !s.no_maint));
    CHECK(parse_prom_query("scope=global&scope=server&no-maint", s));
    CHECK((s.global && !s.frontend && !s.backend && s.server && s.no_maint));
    CHECK(parse_prom_query("scope=", s));
    CHECK((!s.global && !s.frontend && !s.backend && !s.server));
    CHECK(parse_prom_query("scope=*", s));
    CHECK((s.global && s.frontend && s.backend && s.server));
    CHECK(parse_prom_query("scope=listener&scope=sticktable", s));
    CHECK(!s.global);
    CHECK_FALSE(parse_prom_query("scope=bogus", s));
    CHECK_FALSE(parse_prom_query("scope", s));

    StatsFixture f(kConfig);
    Exporter e(f);
    PromScope servers;
    REQUIRE(parse_prom_query("scope=server&no-maint", servers));
    std::string b = e.body(f, servers);
    CHECK(b.find("haproxy_process_") == std::string::npos);
    CHECK(b.find("haproxy_frontend_") == std::string::npos);
    CHECK(b.find("server=\"s1\"") != std::string::npos);
    CHECK(b.find("server=\"s3\"") == std::string::npos);
}

TEST_CASE("pages in flight keep their buffer; a freed buffer is reused without growing") {
    StatsFixture f(kConfig);
    Exporter e(f);
    auto p1 = e.exp->render(&f.src, {}, "connection: close\r\n", false, false, core::monotonic_ms());
    auto p2 = e.exp->render(&f.src, {}, "", true, false, core::monotonic_ms());
    REQUIRE(p1.id >= 0);
    REQUIRE(p2.id >= 0);
    CHECK(p1.id != p2.id);
    std::string head1(p1.data, std::string_view(p1.data, p1.len).find("\r\n\r\n"));
    CHECK(head1.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(head1.find("content-type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(head1.find("connection: close") != std::string::npos);
    CHECK(std::string_view(p2.data, p2.len).ends_with("\r\n\r\n"));   // HEAD: the head only
    std::vector<PrometheusExporter::Page> more;
    for (int i = 2; i < PrometheusExporter::kMaxPages; ++i) more.push_back(e.exp->render(&f.src, {}, "", false, false, 0));
    CHECK(e.exp->render(&f.src, {}, "", false, false, 0).id == -1);   // all busy
    e.exp->release(p1.id);
    auto warm = e.exp->render(&f.src, {}, "connection: close\r\n", false, false, core::monotonic_ms());
    CHECK(warm.id == p1.id);
    const char* where = warm.data;
    e.exp->release(warm.id);
    f.workers[0]->proxies[0].req_tot.add(123456);   // longer numbers: the page grows a little
    auto again = e.exp->render(&f.src, {}, "connection: close\r\n", false, false, core::monotonic_ms());
    CHECK(again.id == p1.id);
    // The same buffer, not reallocated: the page starts where it did, give or take a digit of
    // its content-length (the head is written just before the body).
    CHECK(std::abs(again.data - where) <= 2);
    e.exp->release(again.id);
    e.exp->release(p2.id);
    for (auto& p : more) e.exp->release(p.id);
}

}  // namespace
}  // namespace skjold::proxy
