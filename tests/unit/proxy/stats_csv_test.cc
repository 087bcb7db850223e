// `show stat` (HAProxy 2.6's CSV) and `show info`: layout, positions, status strings, counters.

#include <doctest/doctest.h>

#include <map>

#include "proxy/stats_csv.hh"
#include "proxy/stats_info.hh"
#include "stats_fixture.hh"

namespace skjold::proxy {
namespace {

using test::csv_rows;
using test::StatsFixture;

constexpr std::string_view kConfig =
    "defaults\n"
    "    mode tcp\n"
    "    timeout connect 1s\n"
    "    timeout client 5s\n"
    "    timeout server 5s\n"
    "frontend fe\n"
    "    bind 127.0.0.1:0\n"
    "    maxconn 500\n"
    "    default_backend be\n"
    "backend be\n"
    "    balance leastconn\n"
    "    server s1 127.0.0.1:9001 check rise 2 fall 3\n"
    "    server s2 127.0.0.1:9002 weight 3 maxconn 7\n"
    "    server bk 127.0.0.1:9003 backup\n"
    "listen li\n"
    "    mode http\n"
    "    bind 127.0.0.1:0\n"
    "    server h1 127.0.0.1:9005\n";

std::size_t pos(StatField f) { return static_cast<std::size_t>(f); }

// The row whose pxname/svname are given.
std::vector<std::string> row(const std::vector<std::vector<std::string>>& rows, std::string_view px, std::string_view sv) {
    for (const auto& r : rows)
        if (r.size() > 1 && r[0] == px && r[1] == sv) return r;
    FAIL("no row " << px << "/" << sv);
    return {};
}

TEST_CASE("the show stat header names HAProxy 2.6's fields at their fixed positions") {
    auto h = csv_rows(stat_header());
    REQUIRE(h.size() == 1);
    const auto& f = h[0];
    CHECK(f[0] == "# pxname");
    CHECK(f[1] == "svname");
    CHECK(f[17] == "status");
    CHECK(f[32] == "type");
    CHECK(f[36] == "check_status");
    CHECK(f[73] == "addr");
    CHECK(f[99] == "uweight");
    CHECK(f[103] == "-");
    CHECK(f[104] == "ssl_sess");
    CHECK(f.back().empty());   // every line ends with a comma
    CHECK(f.size() == 103 + 1 + 24 + 1);
    CHECK(stat_header().substr(0, 60) == "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,");
}

TEST_CASE("show stat has a FRONTEND, server and BACKEND row per proxy, each as wide as the header") {
    StatsFixture f(kConfig);
    auto rows = csv_rows(f.run("show stat"));
    REQUIRE(rows.size() == 1 + (1 + 3 + 1) + (1 + 1 + 1));
    std::vector<std::pair<std::string, std::string>> order;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        CHECK(rows[i].size() == rows[0].size());
        order.emplace_back(rows[i][0], rows[i][1]);
    }
    CHECK(order == std::vector<std::pair<std::string, std::string>>{
                       {"fe", "FRONTEND"}, {"be", "s1"}, {"be", "s2"}, {"be", "bk"}, {"be", "BACKEND"},
                       {"li", "FRONTEND"}, {"li", "h1"}, {"li", "BACKEND"}});
    auto fe = row(rows, "fe", "FRONTEND");
    CHECK(fe[pos(StatField::status)] == "OPEN");
    CHECK(fe[pos(StatField::type)] == "0");
    CHECK(fe[pos(StatField::slim)] == "500");
    CHECK(fe[pos(StatField::iid)] == "1");
    CHECK(fe[pos(StatField::qcur)].empty());      // a frontend has no queue
    CHECK(fe[pos(StatField::hrsp_2xx)].empty());  // tcp: no HTTP responses
    CHECK(fe[pos(StatField::mode)] == "tcp");
    auto s2 = row(rows, "be", "s2");
    CHECK(s2[pos(StatField::type)] == "2");
    CHECK(s2[pos(StatField::sid)] == "2");
    CHECK(s2[pos(StatField::iid)] == "2");
    CHECK(s2[pos(StatField::slim)] == "7");
    CHECK(s2[pos(StatField::weight)] == "3");
    CHECK(s2[pos(StatField::addr)] == "127.0.0.1:9002");
    CHECK(s2[pos(StatField::status)] == "no check");
    CHECK(s2[pos(StatField::check_status)].empty());
    auto s1 = row(rows, "be", "s1");
    CHECK(s1[pos(StatField::check_status)] == "INI");
    CHECK(s1[pos(StatField::check_rise)] == "2");
    CHECK(s1[pos(StatField::check_fall)] == "3");
    auto bk = row(rows, "be", "bk");
    CHECK(bk[pos(StatField::act)] == "0");
    CHECK(bk[pos(StatField::bck)] == "1");
    auto be = row(rows, "be", "BACKEND");
    CHECK(be[pos(StatField::type)] == "1");
    CHECK(be[pos(StatField::status)] == "UP");
    CHECK(be[pos(StatField::act)] == "2");
    CHECK(be[pos(StatField::weight)] == "4");
    CHECK(be[pos(StatField::algo)] == "leastconn");
    CHECK(be[pos(StatField::slim)] == "50");      // HAProxy's fullconn: 10% of fe's maxconn
    auto h1 = row(rows, "li", "h1");
    CHECK(h1[pos(StatField::hrsp_2xx)] == "0");   // http: counted, even when zero
    CHECK(h1[pos(StatField::mode)] == "http");
}

TEST_CASE("the status column follows HAProxy's strings") {
    StatsFixture f(kConfig);
    health::BackendState& be = *f.table->find_backend("be");
    int s1 = be.find_server("s1");
    auto status = [&] { return server_status(be.server(s1)); };
    be.set_health(s1, health::Health::up, 4);
    CHECK(status() == "UP");
    be.set_health(s1, health::Health::up, 3);
    CHECK(status() == "UP 2/3");
    be.set_health(s1, health::Health::up, 2);
    CHECK(status() == "UP 1/3");
    be.set_health(s1, health::Health::down, 0);
    CHECK(status() == "DOWN");
    be.set_health(s1, health::Health::down, 1);
    CHECK(status() == "DOWN 1/2");
    be.set_health(s1, health::Health::up, 4);
    be.set_health_stopping(s1);
    CHECK(status() == "NOLB");
    be.set_health(s1, health::Health::up, 4);
    be.set_admin(s1, health::Admin::drain);
    CHECK(status() == "DRAIN");
    be.set_admin(s1, health::Admin::maint);
    CHECK(status() == "MAINT");
    be.set_admin(s1, health::Admin::ready);
    be.set_checks_enabled(s1, false);
    be.set_health(s1, health::Health::up, 4);
    CHECK(status() == "no check");
    auto rows = csv_rows(f.run("show stat"));
    CHECK(row(rows, "be", "s1")[pos(StatField::check_status)].empty());   // checks off: no result shown
}

TEST_CASE("server counters are summed over every worker and rebased by clear counters all") {
    StatsFixture f(kConfig);
    auto& w0 = f.workers[0]->servers[1][0];
    auto& w1 = f.workers[1]->servers[1][0];
    w0.cum_conn.add(3);
    w1.cum_conn.add(4);
    w0.cur_conn.add(1);
    w1.cur_conn.add(1);
    note_max(w0.max_conn, 2);
    note_max(w1.max_conn, 1);
    f.workers[0]->proxies[0].cum_conn.add(7);
    f.workers[1]->proxies[0].cum_conn.add(2);
    f.workers[1]->proxies[0].denied_conn.add(1);
    auto rows = csv_rows(f.run("show stat", CliLevel::user));
    auto s1 = row(rows, "be", "s1");
    CHECK(s1[pos(StatField::stot)] == "7");
    CHECK(s1[pos(StatField::scur)] == "2");
    CHECK(s1[pos(StatField::smax)] == "3");
    auto fe = row(rows, "fe", "FRONTEND");
    CHECK(fe[pos(StatField::conn_tot)] == "9");
    CHECK(fe[pos(StatField::stot)] == "8");    // sessions: connections the rules accepted
    CHECK(fe[pos(StatField::dcon)] == "1");

    CHECK(f.run("clear counters", CliLevel::operator_) == "\n");
    s1 = row(csv_rows(f.run("show stat")), "be", "s1");
    CHECK(s1[pos(StatField::smax)] == "2");   // the maxima restart from the current sessions
    CHECK(s1[pos(StatField::stot)] == "7");

    CHECK(f.run("clear counters all") == "\n");
    w0.cum_conn.add(1);
    s1 = row(csv_rows(f.run("show stat")), "be", "s1");
    CHECK(s1[pos(StatField::stot)] == "1");
    CHECK(s1[pos(StatField::scur)] == "2");   // current sessions are not a counter
}

TEST_CASE("show stat IID TYPE SID and up/no-maint select rows") {
    StatsFixture f(kConfig);
    CHECK(f.run("disable server be/s2") == "\n");
    auto servers = csv_rows(f.run("show stat be 4 -1"));
    CHECK(servers.size() == 1 + 3);
    auto one = csv_rows(f.run("show stat 2 4 1"));
    REQUIRE(one.size() == 2);
    CHECK(one[1][1] == "s1");
    auto no_maint = csv_rows(f.run("show stat be 4 -1 no-maint"));
    CHECK(no_maint.size() == 1 + 2);
    auto frontends = csv_rows(f.run("show stat -1 1 -1"));
    CHECK(frontends.size() == 1 + 2);
}

TEST_CASE("a field with a comma or a quote is quoted") {
    std::string out;
    append_csv_field(out, "plain");
    out += ',';
    append_csv_field(out, "a,b");
    out += ',';
    append_csv_field(out, "say \"hi\"");
    CHECK(out == "plain,\"a,b\",\"say \"\"hi\"\"\"");
}

TEST_CASE("show info prints HAProxy's lines in HAProxy's order, then skjold's") {
    StatsFixture f(kConfig);
    f.workers[0]->proxies[0].cur_conn.add(2);
    f.workers[1]->proxies[0].cur_conn.add(1);
    auto out = f.run("show info", CliLevel::user);
    std::vector<std::string> names;
    std::map<std::string, std::string> values;
    for (std::size_t p = 0, nl; (nl = out.find('\n', p)) != std::string::npos; p = nl + 1) {
        std::string line = out.substr(p, nl - p);
        if (line.empty()) continue;
        auto c = line.find(": ");
        REQUIRE(c != std::string::npos);
        names.push_back(line.substr(0, c));
        values[line.substr(0, c)] = line.substr(c + 2);
    }
    REQUIRE(names.size() > 20);
    CHECK(std::vector<std::string>(names.begin(), names.begin() + 9) ==
          std::vector<std::string>{"Name", "Version", "Release_date", "Nbthread", "Nbproc", "Process_num", "Pid",
                                   "Uptime", "Uptime_sec"});
    auto at = [&](std::string_view n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
    CHECK(at("Maxconn") < at("CurrConns"));
    CHECK(at("CurrConns") < at("CumConns"));
    CHECK(at("ConnRate") < at("SessRate"));
    CHECK(at("SessRate") < at("SslRate"));
    CHECK(at("Idle_pct") < at("node"));
    CHECK(at("node") < at("DroppedLogs"));
    CHECK(names.back() == "Skjold_geo_bytes");
    CHECK(values.count("Skjold_geo_prefixes") == 1);
    CHECK(values["Name"] == "skjold");
    CHECK(values["Nbthread"] == "2");
    CHECK(values["Maxconn"] == "1000");
    CHECK(values["CurrConns"] == "3");
    CHECK(values["Skjold_last_reload"] == "none");
    CHECK(values["Skjold_geo_tables"] == "0");
    CHECK(values.count("Tasks") == 1);
    CHECK(values.count("Run_queue") == 1);
    CHECK(values["Release_date"].size() == 10);
}

TEST_CASE("uptime is written as HAProxy writes it") {
    CHECK(uptime_text(3) == "0d 0h00m03s");
    CHECK(uptime_text(90061) == "1d 1h01m01s");
}

}  // namespace
}  // namespace skjold::proxy
