// The Prometheus exporter (issue 7): `http-request use-service prometheus-exporter` scraped through
// the real binary. The page is parsed and checked against the text format 0.0.4 rules here, and by
// the Debian `prometheus` package's promtool when it is installed; names, labels and values are
// HAProxy 2.6's and must move with the traffic and the servers' health.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

// A scraped page: every series ("name{labels}" as written) and its value; `error` says which
// rule of the text format a line broke (empty: none).
struct Page {
    std::map<std::string, double> series;
    std::map<std::string, std::string> types;   // family -> gauge|counter
    std::string error;

    bool has(const std::string& s) const { return series.count(s) != 0; }
    double get(const std::string& s) const {
        auto it = series.find(s);
        return it == series.end() ? -12345 : it->second;
    }
    // Every series whose text starts with `prefix`.
    std::size_t count_prefix(std::string_view prefix) const {
        std::size_t n = 0;
        for (const auto& [k, v] : series) n += k.starts_with(prefix);
        return n;
    }
};

bool metric_name(std::string_view n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    return true;
}

// Checks one sample's label set `{a="x",b="y"}` (escapes \\ \" \n only).
bool labels_ok(std::string_view l) {
    if (l.empty()) return true;
    if (l.front() != '{' || l.back() != '}') return false;
    l = l.substr(1, l.size() - 2);
    while (!l.empty()) {
        std::size_t eq = l.find('=');
        if (eq == std::string_view::npos || !metric_name(l.substr(0, eq)) || eq + 1 >= l.size() || l[eq + 1] != '"') return false;
        std::size_t i = eq + 2;
        for (; i < l.size() && l[i] != '"'; ++i)
            if (l[i] == '\\') {
                if (i + 1 >= l.size() || (l[i + 1] != '\\' && l[i + 1] != '"' && l[i + 1] != 'n')) return false;
                ++i;
            }
        if (i >= l.size()) return false;
        l = l.substr(i + 1);
        if (!l.empty()) {
            if (l.front() != ',') return false;
            l = l.substr(1);
        }
    }
    return true;
}

// Parses the page, enforcing: HELP then TYPE before a family's first sample, one TYPE per family,
// a family's samples together, valid names, labels and values, no repeated series.
Page parse_page(std::string_view text) {
    Page p;
    std::set<std::string> closed;   // families whose samples are over
    std::string current, helped;
    auto fail = [&](std::string_view why, std::string_view line) {
        if (p.error.empty()) p.error = std::string(why) + ": " + std::string(line);
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) {
            fail("last line without a line feed", text.substr(pos));
            break;
        }
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            std::string_view rest = line.substr(7);
            std::string name(rest.substr(0, rest.find(' ')));
            if (!metric_name(name)) fail("bad family name", line);
            if (name != current) {
                if (!current.empty()) closed.insert(current);
                if (closed.count(name)) fail("family appears twice", line);
                current = name;
            }
            if (line.starts_with("# HELP ")) {
                helped = name;
            } else {
                std::string type(rest.substr(rest.find(' ') + 1));
                if (type != "gauge" && type != "counter") fail("unknown type", line);
                if (p.types.count(name)) fail("second TYPE line", line);
                if (helped != name) fail("TYPE without HELP before it", line);
                p.types[name] = type;
            }
            continue;
        }
        if (line.starts_with("#")) continue;
        std::size_t sp = line.rfind(' ');
        if (sp == std::string_view::npos) {
            fail("sample without a value", line);
            continue;
        }
        std::string key(line.substr(0, sp));
        std::string value(line.substr(sp + 1));
        std::size_t brace = key.find('{');
        std::string name = key.substr(0, brace);
        if (!metric_name(name)) fail("bad metric name", line);
        if (!labels_ok(brace == std::string::npos ? std::string_view{} : std::string_view(key).substr(brace))) fail("bad labels", line);
        if (name != current || !p.types.count(name)) fail("sample outside its family (no TYPE before it)", line);
        double v = 0;
        if (value == "NaN") {
            v = std::numeric_limits<double>::quiet_NaN();
        } else {
            char* end = nullptr;
            v = std::strtod(value.c_str(), &end);
            if (value.empty() || end != value.c_str() + value.size()) fail("bad value", line);
        }
        if (!p.series.emplace(key, v).second) fail("repeated series", line);
    }
    return p;
}

t::HttpResponse scrape(const t::Address& at, std::string_view target = "/metrics") {
    return t::fetch(at, t::http_get(target));
}

Page scrape_page(const t::Address& at) {
    auto r = scrape(at);
    REQUIRE_MESSAGE(r.status == 200, r);
    Page p = parse_page(r.body);
    INFO(r.body.substr(0, 2000));
    REQUIRE_MESSAGE(p.error.empty(), p.error);
    return p;
}

// promtool from the Debian `prometheus` package, when installed: exit 0, or 3 for lint remarks
// only (HAProxy's own names draw some, e.g. a counter without _total); 1 is a parse error.
void promtool_check(const t::Tempdir& dir, const std::string& body) {
    if (!std::filesystem::exists("/usr/bin/promtool")) {
        MESSAGE("promtool not installed (Debian package prometheus): format checked by the test's parser only");
        return;
    }
    auto file = dir.write("page.prom", body);
    auto r = t::run_process({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + file.string() + "'"}, 20s);
    INFO("promtool: exit " << r.exit_code << "\n" << r.out << r.err);
    CHECK((r.exit_code == 0 || r.exit_code == 3));
    CHECK(r.err.find("error") == std::string::npos);
}

std::string s_label(std::string_view server, std::string_view state) {
    return "{proxy=\"be\",server=\"" + std::string(server) + "\",state=\"" + std::string(state) + "\"}";
}

}  // namespace

TEST_SUITE_BEGIN("prometheus");

TEST_CASE("the exporter serves HAProxy's metric names, counts requests and shows a killed server DOWN") {
    t::Tempdir dir;
    t::HttpBackend a("alpha");
    std::optional<t::HttpBackend> b(std::in_place, "beta");
    auto lb = t::start_with_config(
        dir, "global\n    nbthread 2\n" + std::string(t::kHttpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    http-request use-service prometheus-exporter if { path /metrics }\n"
                         "    default_backend be\n"
                         "backend be\n"
                         "    server s1 ${A} check inter 100ms rise 1 fall 1\n"
                         "    server s2 ${B} check inter 100ms rise 1 fall 1\n"
                         "    server s3 ${A} check inter 100ms disabled\n",
                         {{"A", a.addr()}, {"B", b->addr()}}));
    const auto fe = lb.listener("fe");

    auto first = scrape(fe);
    INFO(first);
    REQUIRE(first.status == 200);
    CHECK(first.header("Content-Type") == "text/plain; version=0.0.4");
    CHECK(first.header("Cache-Control") == "no-cache");
    CHECK(first.header("Content-Length") == std::to_string(first.body.size()));
    Page p = parse_page(first.body);
    REQUIRE_MESSAGE(p.error.empty(), p.error);
    promtool_check(dir, first.body);

    // HAProxy's names, types and labels.
    CHECK(p.get("haproxy_process_nbthread") == 2);
    CHECK(p.types["haproxy_process_connections_total"] == "counter");
    CHECK(p.types["haproxy_process_current_connections"] == "gauge");
    CHECK(p.get("haproxy_process_build_info{version=\"" SKJOLD_VERSION "\"}") == 1);
    CHECK(p.get("haproxy_process_uptime_seconds") >= 0);
    CHECK(p.get("haproxy_process_start_time_seconds") > 1.6e9);
    CHECK(p.get("haproxy_process_max_connections") > 0);
    CHECK(p.has("haproxy_process_dropped_logs_total"));
    CHECK(p.get("haproxy_process_listeners") == 1);
    CHECK(p.get("haproxy_frontend_status{proxy=\"fe\",state=\"UP\"}") == 1);
    CHECK(p.get("haproxy_frontend_status{proxy=\"fe\",state=\"DOWN\"}") == 0);
    CHECK(p.types["haproxy_frontend_http_responses_total"] == "counter");
    CHECK(p.has("haproxy_frontend_http_responses_total{proxy=\"fe\",code=\"2xx\"}"));
    CHECK(p.has("haproxy_frontend_limit_sessions{proxy=\"fe\"}"));
    CHECK(p.get("haproxy_backend_status{proxy=\"be\",state=\"UP\"}") == 1);
    CHECK(p.has("haproxy_backend_active_servers{proxy=\"be\"}"));
    CHECK(p.types["haproxy_server_connection_errors_total"] == "counter");
    CHECK(p.get("haproxy_server_weight{proxy=\"be\",server=\"s1\"}") == 1);
    CHECK(p.get("haproxy_server_status" + s_label("s3", "MAINT")) == 1);
    CHECK(p.get("haproxy_server_status" + s_label("s3", "UP")) == 0);
    CHECK(p.has("haproxy_server_last_session_seconds{proxy=\"be\",server=\"s1\"}"));
    CHECK(std::isnan(p.get("haproxy_server_limit_sessions{proxy=\"be\",server=\"s1\"}")));   // no maxconn: NaN, as HAProxy
    CHECK_FALSE(p.has("haproxy_server_http_requests_total{proxy=\"be\",server=\"s1\"}"));     // backends only, as HAProxy

    // Requests counted: 10 through the proxy, plus the scrape that reads the count.
    Page before = scrape_page(fe);
    for (int i = 0; i < 10; ++i) CHECK(t::fetch(fe, t::http_get("/x")).status == 200);
    Page after = scrape_page(fe);
    const std::string fe_req = "haproxy_frontend_http_requests_total{proxy=\"fe\"}";
    CHECK(after.get(fe_req) - before.get(fe_req) == 11);
    CHECK(after.get("haproxy_process_requests_total") - before.get("haproxy_process_requests_total") == 11);
    CHECK(after.get("haproxy_frontend_intercepted_requests_total{proxy=\"fe\"}") -
              before.get("haproxy_frontend_intercepted_requests_total{proxy=\"fe\"}") == 1);
    const std::string be_2xx = "haproxy_backend_http_responses_total{proxy=\"be\",code=\"2xx\"}";
    CHECK(after.get(be_2xx) - before.get(be_2xx) == 10);
    CHECK(after.get("haproxy_backend_http_requests_total{proxy=\"be\"}") -
              before.get("haproxy_backend_http_requests_total{proxy=\"be\"}") == 10);
    double lb_sum = 0;
    for (const char* s : {"s1", "s2"})
        lb_sum += after.get(std::string("haproxy_server_loadbalanced_total{proxy=\"be\",server=\"") + s + "\"}") -
                  before.get(std::string("haproxy_server_loadbalanced_total{proxy=\"be\",server=\"") + s + "\"}");
    CHECK(lb_sum == 10);
    CHECK(after.get("haproxy_frontend_bytes_out_total{proxy=\"fe\"}") > before.get("haproxy_frontend_bytes_out_total{proxy=\"fe\"}"));

    // A server killed: its status goes to DOWN (checks every 100 ms, fall 1).
    b.reset();
    Page down;
    for (int i = 0; i < 100; ++i) {   // bounded: 5 s
        down = scrape_page(fe);
        if (down.get("haproxy_server_status" + s_label("s2", "DOWN")) == 1) break;
        std::this_thread::sleep_for(50ms);
    }
    CHECK(down.get("haproxy_server_status" + s_label("s2", "DOWN")) == 1);
    CHECK(down.get("haproxy_server_status" + s_label("s2", "UP")) == 0);
    CHECK(down.get("haproxy_server_status" + s_label("s1", "UP")) == 1);
    CHECK(down.get("haproxy_backend_active_servers{proxy=\"be\"}") == 1);
    // Check results: one line per HAProxy state, 1 for the last result.
    double s2_checks = 0;
    for (const auto& [k, v] : down.series)
        if (k.starts_with("haproxy_server_check_status{proxy=\"be\",server=\"s2\"")) s2_checks += v;
    CHECK(down.has("haproxy_server_check_status" + s_label("s2", "L4CON")));
    CHECK(down.has("haproxy_server_check_status" + s_label("s1", "L7OK")));
    CHECK(s2_checks == 1);
    CHECK(down.get("haproxy_server_check_status" + s_label("s2", "L4CON")) == 1);
    CHECK(down.get("haproxy_server_check_status" + s_label("s1", "L4OK")) == 1);
    CHECK(down.get("haproxy_server_check_failures_total{proxy=\"be\",server=\"s2\"}") >= 1);
    CHECK(down.get("haproxy_server_check_up_down_total{proxy=\"be\",server=\"s2\"}") == 1);
    CHECK_FALSE(down.has("haproxy_server_check_status" + s_label("s3", "L4OK")));   // MAINT: checks paused
    CHECK(lb.stop() == 0);
}

TEST_CASE("scope and no-maint select parts of the page; a bad scope is 400; HEAD and keep-alive work") {
    t::Tempdir dir;
    t::HttpBackend a("alpha");
    // Enough servers for a page several times tune.bufsize (16 KiB): sent in pieces, whole.
    std::string servers;
    for (int i = 0; i < 80; ++i) servers += "    server big" + std::to_string(i) + " " + a.addr() + "\n";
    auto lb = t::start_with_config(
        dir, std::string(t::kHttpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    http-request use-service prometheus-exporter if { path /metrics }\n"
                         "    default_backend be\n"
                         "backend be\n"
                         "    server up1 ${A}\n"
                         "    server off ${A} disabled\n",
                         {{"A", a.addr()}}) +
                 "backend big\n" + servers);
    const auto fe = lb.listener("fe");

    auto whole = scrape(fe);
    REQUIRE(whole.status == 200);
    CHECK(whole.body.size() > 4 * 16384);
    CHECK(whole.header("Content-Length") == std::to_string(whole.body.size()));
    Page all = parse_page(whole.body);
    CHECK_MESSAGE(all.error.empty(), all.error);
    CHECK(all.has("haproxy_server_status{proxy=\"big\",server=\"big79\",state=\"UP\"}"));
    promtool_check(dir, whole.body);

    auto global = parse_page(scrape(fe, "/metrics?scope=global").body);
    CHECK(global.error.empty());
    CHECK(global.count_prefix("haproxy_process_") > 10);
    CHECK(global.series.size() == global.count_prefix("haproxy_process_"));

    auto fb = parse_page(scrape(fe, "/metrics?scope=frontend&scope=backend").body);
    CHECK(fb.count_prefix("haproxy_frontend_") > 0);
    CHECK(fb.count_prefix("haproxy_backend_") > 0);
    CHECK(fb.count_prefix("haproxy_server_") == 0);
    CHECK(fb.count_prefix("haproxy_process_") == 0);

    auto no_maint = parse_page(scrape(fe, "/metrics?scope=server&no-maint").body);
    CHECK(no_maint.has("haproxy_server_status{proxy=\"be\",server=\"up1\",state=\"UP\"}"));
    CHECK_FALSE(no_maint.has("haproxy_server_status{proxy=\"be\",server=\"off\",state=\"MAINT\"}"));
    CHECK(all.get("haproxy_server_status{proxy=\"be\",server=\"off\",state=\"MAINT\"}") == 1);

    CHECK(scrape(fe, "/metrics?scope=everything").status == 400);

    // HEAD: the same head (with the page's length), no body; then a GET on the same connection.
    auto c = t::HttpClient::open(fe);
    auto head = c.roundtrip(t::http_request("HEAD", "/metrics"), true);
    INFO(head);
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(std::stoul(head.header("Content-Length").value_or("0")) > 4 * 16384);
    for (int i = 0; i < 3; ++i) {
        auto again = c.roundtrip(t::http_get("/metrics?scope=global"));
        CHECK(again.status == 200);
        CHECK(parse_page(again.body).error.empty());
    }
    CHECK(t::fetch(fe, t::http_get("/other")).body == "alpha");   // other paths still proxied
    CHECK(lb.stop() == 0);
}

TEST_CASE("skjold -c accepts use-service prometheus-exporter and refuses other services with FILE:LINE") {
    t::Tempdir dir;
    auto good = dir.write("good.cfg", std::string(t::kHttpDefaults) +
                                          "frontend fe\n"
                                          "    bind 127.0.0.1:0\n"
                                          "    http-request use-service prometheus-exporter if { path /metrics }\n"
                                          "    http-request use-service prometheus-exporter\n");
    auto ok = t::run_check({"-c", "-f", good.string()});
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    auto bad = dir.write("bad.cfg", std::string(t::kHttpDefaults) +
                                        "frontend fe\n"
                                        "    bind 127.0.0.1:0\n"
                                        "    http-request use-service lua.hello\n");
    auto r = t::run_check({"-c", "-f", bad.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK((r.out + r.err).find("bad.cfg:8") != std::string::npos);
    CHECK((r.out + r.err).find("lua.hello") != std::string::npos);
}

TEST_SUITE_END();
