// The access log (issue 3, Logs): `option httplog` lines in HAProxy 2.6's format, written to
// `log stdout format raw`, matched field by field against what the client did and saw:
//   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
// (%hr/%hs are the captured headers: none here, so HAProxy prints nothing for them.)
#include <doctest/doctest.h>

#include <ctime>
#include <regex>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

struct HttpLogLine {
    std::string client_ip, client_port, date, frontend, backend, server;
    long tr = 0, tw = 0, tc = 0, tres = 0, ta = 0;
    int status = 0;
    std::uint64_t bytes = 0;
    std::string cc, cs, tsc;
    long ac = 0, fc = 0, bc = 0, sc = 0;
    std::string rc;
    long sq = 0, bq = 0;
    std::string request;
};

const std::regex kHttpLog(
    R"re(^(\S+):(\d+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) (\S+)/(\S+) )re"
    R"re((-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\+?-?\d+) (-?\d+) (\+?\d+) (\S+) (\S+) (\S{4}) )re"
    R"re((\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+)/(\d+) (?:\{[^}]*\} )*"(.*)"$)re");

// The first line of `log` that contains `needle`, parsed; nullopt (with the line in `raw`) when
// none does or it is not in the httplog format.
std::optional<HttpLogLine> find_line(const std::string& log, std::string_view needle, std::string& raw) {
    std::size_t pos = log.find(needle);
    if (pos == std::string::npos) return std::nullopt;
    auto begin = log.rfind('\n', pos);
    begin = begin == std::string::npos ? 0 : begin + 1;
    auto end = log.find('\n', pos);
    raw = log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    std::smatch m;
    if (!std::regex_match(raw, m, kHttpLog)) return std::nullopt;
    HttpLogLine l;
    l.client_ip = m[1];
    l.client_port = m[2];
    l.date = m[3];
    l.frontend = m[4];
    l.backend = m[5];
    l.server = m[6];
    l.tr = std::stol(m[7]);
    l.tw = std::stol(m[8]);
    l.tc = std::stol(m[9]);
    l.tres = std::stol(m[10]);
    l.ta = std::stol(m[11].str().substr(m[11].str()[0] == '+'));
    l.status = std::stoi(m[12]);
    l.bytes = std::stoull(m[13].str().substr(m[13].str()[0] == '+'));
    l.cc = m[14];
    l.cs = m[15];
    l.tsc = m[16];
    l.ac = std::stol(m[17]);
    l.fc = std::stol(m[18]);
    l.bc = std::stol(m[19]);
    l.sc = std::stol(m[20]);
    l.rc = m[21];
    l.sq = std::stol(m[22]);
    l.bq = std::stol(m[23]);
    l.request = m[24];
    return l;
}

// Waits (up to 5 s: records go through the worker's log ring and the control thread) for a line
// with `needle`.
std::string wait_for_log(const t::Skjold& lb, std::string_view needle) {
    for (int i = 0; i < 100; ++i) {
        auto log = lb.log();
        if (log.find(needle) != std::string::npos) return log;
        std::this_thread::sleep_for(50ms);
    }
    return lb.log();
}

// "dd/Mon/yyyy" of today in local time, as %tr prints it.
std::string today() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%d/%b/%Y", &tm);
    return buf;
}

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("option httplog: the access-log line of a proxied request, field by field") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("logged body");
        r.delay = 150ms;  // so %Tr is measurably the server's time
        return r;
    });
    auto lb = t::start_with_config(dir, "global\n    log stdout format raw local0\n" + std::string(t::kHttpDefaults) +
                                            "    log global\n    option httplog\n" +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s1 ${S}\n",
                                                    {{"S", be.addr()}}));
    auto c = t::HttpClient::open(lb.listener("fe"));
    const auto port = std::to_string(c.local().port());
    auto r = c.roundtrip(t::http_get("/logged?x=1"));
    REQUIRE(r.status == 200);
    c.close();
    auto log = wait_for_log(lb, "/logged?x=1");
    std::string raw;
    auto line = find_line(log, "\"GET /logged?x=1 HTTP/1.1\"", raw);
    INFO("log line: " << raw);
    INFO("whole log:\n" << log);
    REQUIRE(line.has_value());
    CHECK(line->client_ip == "127.0.0.1");                // %ci
    CHECK(line->client_port == port);                     // %cp
    CHECK(line->date.substr(0, 11) == today());           // [%tr]: local time, ms precision
    CHECK(line->frontend == "fe");                        // %ft (no '~': not TLS)
    CHECK(line->backend == "be");                         // %b
    CHECK(line->server == "s1");                          // %s
    CHECK(line->tr >= 0);                                 // %TR: head received in one piece
    CHECK(line->tr < 1000);                               // (loose: a loaded test machine)
    CHECK(line->tw == 0);                                 // %Tw: no queue
    CHECK(line->tc >= 0);                                 // %Tc: a connect on 127.0.0.1
    CHECK(line->tc < 1000);
    CHECK(line->tres >= 140);                             // %Tr: the server's 150 ms
    CHECK(line->tres < 2000);
    CHECK(line->ta >= line->tres);                        // %Ta covers %Tr
    CHECK(line->status == 200);                           // %ST
    CHECK(line->bytes == r.wire_bytes);                   // %B: every byte the client received (HAProxy
                                                          // 2.6 counts its internal HTX size: a few bytes off)
    CHECK(line->cc == "-");                               // %CC %CS: no captured cookies
    CHECK(line->cs == "-");
    CHECK(line->tsc == "----");                           // %tsc: normal end, no persistence cookie
    CHECK(line->ac >= 1);                                 // %ac/%fc: this connection was still open
    CHECK(line->fc >= 1);                                 // (%bc/%sc: 0 or 1, HAProxy 2.6 logs after
                                                          // releasing the server connection: not checked)
    CHECK(line->rc == "0");                               // %rc: no retry
    CHECK(line->sq == 0);                                 // %sq/%bq
    CHECK(line->bq == 0);
    CHECK(line->request == "GET /logged?x=1 HTTP/1.1");  // %{+Q}r
    CHECK(lb.stop() == 0);
}

TEST_CASE("option httplog: a denied request logs <NOSRV>, status 403 and termination state PR--") {
    t::Tempdir dir;
    t::HttpBackend be("never");
    auto lb = t::start_with_config(dir, "global\n    log stdout format raw local0\n" + std::string(t::kHttpDefaults) +
                                            "    log global\n    option httplog\n" +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    http-request deny if { path_beg /denied }\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s1 ${S}\n",
                                                    {{"S", be.addr()}}));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/denied/x"));
    REQUIRE(r.status == 403);
    auto log = wait_for_log(lb, "/denied/x");
    std::string raw;
    auto line = find_line(log, "\"GET /denied/x HTTP/1.1\"", raw);
    INFO("log line: " << raw);
    INFO("whole log:\n" << log);
    REQUIRE(line.has_value());
    CHECK(line->frontend == "fe");
    CHECK(line->backend == "fe");          // HAProxy: no backend chosen yet, the frontend's name
    CHECK(line->server == "<NOSRV>");
    CHECK(line->tw == -1);                 // never queued, connected, or answered by a server
    CHECK(line->tc == -1);
    CHECK(line->tres == -1);
    CHECK(line->ta >= 0);
    CHECK(line->status == 403);
    CHECK(line->bytes == r.wire_bytes);
    CHECK(line->tsc == "PR--");            // P: the proxy blocked it, R: while reading the request
    CHECK(be.accepted() == 0);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
