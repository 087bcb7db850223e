// option tcplog / option httplog lines, field by field, against HAProxy 2.6's formats
// (configuration.txt 8.2.2, 8.2.3, 8.5, 8.6; the expected lines follow what haproxy 2.6.12
// printed here for the same situations).
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "conf/snapshot_types.hh"
#include "geo/address.hh"
#include "proxy/access_log.hh"
#include "proxy/log_ring.hh"

namespace p = skjold::proxy;
namespace geo = skjold::geo;
namespace conf = skjold::conf;

namespace {

// 2026-11-22 04:05:06.123456 UTC
constexpr std::int64_t kDate = 1795320306LL * 1000000 + 123456;

struct UtcZone {
    UtcZone() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};
const UtcZone utc_zone;

std::string tcplog(const p::AccessLogFields& f, std::size_t cap = 2048) {
    std::string b(cap, '\0');
    b.resize(p::format_tcplog(f, b.data(), b.size()));
    return b;
}
std::string httplog(const p::AccessLogFields& f, std::size_t cap = 2048) {
    std::string b(cap, '\0');
    b.resize(p::format_httplog(f, b.data(), b.size()));
    return b;
}

p::AccessLogFields tcp_fields() {
    p::AccessLogFields f;
    f.client_ip = *geo::parse_ip("10.0.1.2");
    f.client_port = 33313;
    f.date_us = kDate;
    f.frontend = "fnt";
    f.backend = "bck";
    f.server = "srv1";
    f.t_queue = 0;
    f.t_connect = 0;
    f.t_total = 5007;
    f.bytes_out = 212;
    f.bytes_in = 10;
    f.actconn = 1;
    f.feconn = 2;
    f.backend_queue = 0;
    f.beconn = 3;
    f.srvconn = 4;
    f.retries = 0;
    return f;
}

p::AccessLogFields http_fields() {
    p::AccessLogFields f = tcp_fields();
    f.frontend = "http-in";
    f.backend = "static";
    f.t_request = 10;
    f.t_queue = 0;
    f.t_connect = 30;
    f.t_response = 69;
    f.t_active = 109;
    f.status = 200;
    f.bytes_out = 2750;
    f.request_line = "GET /index.html HTTP/1.1";
    return f;
}

}  // namespace

TEST_CASE("the accept date is printed as dd/Mmm/yyyy:hh:mm:ss.mmm in local time") {
    char b[32];
    REQUIRE(p::format_log_date(kDate, b, sizeof b) == 24);
    CHECK(std::string(b, 24) == "22/Nov/2026:04:05:06.123");
    CHECK(p::format_log_date(kDate, b, 23) == 0);   // too small: nothing written
    // First of the month, single-digit fields are zero-padded; 999 ms stays 999.
    std::int64_t jan = 1767225600LL * 1000000 + 999999;   // 2026-01-01 00:00:00.999999 UTC
    REQUIRE(p::format_log_date(jan, b, sizeof b) == 24);
    CHECK(std::string(b, 24) == "01/Jan/2026:00:00:00.999");
}

TEST_CASE("a tcplog line has HAProxy's fields in HAProxy's order") {
    CHECK(tcplog(tcp_fields()) == "10.0.1.2:33313 [22/Nov/2026:04:05:06.123] fnt bck/srv1 0/0/5007 212 -- 1/2/3/4/0 0/0");
}

TEST_CASE("a tcplog line shows -1 for timers never reached, <NOSRV> and the termination state") {
    auto f = tcp_fields();
    f.t_connect = -1;
    f.t_total = 3005;
    f.bytes_out = 0;
    f.term_cause = p::TermCause::server_abort;
    f.term_phase = p::TermPhase::connect;
    f.retries = 3;
    CHECK(tcplog(f) == "10.0.1.2:33313 [22/Nov/2026:04:05:06.123] fnt bck/srv1 0/-1/3005 0 SC 1/2/3/4/3 0/0");
    f.server = {};
    f.t_queue = -1;
    f.term_cause = p::TermCause::client_timeout;
    f.term_phase = p::TermPhase::data;
    CHECK(tcplog(f) == "10.0.1.2:33313 [22/Nov/2026:04:05:06.123] fnt bck/<NOSRV> -1/-1/3005 0 cD 1/2/3/4/3 0/0");
}

TEST_CASE("an IPv6 client is printed without brackets, as HAProxy's %ci:%cp") {
    auto f = tcp_fields();
    f.client_ip = *geo::parse_ip("2001:db8::1");
    f.client_port = 34830;
    CHECK(tcplog(f).starts_with("2001:db8::1:34830 [22/Nov/2026:04:05:06.123] fnt "));
    f.client_ip = *geo::parse_ip("::1");
    CHECK(tcplog(f).starts_with("::1:34830 ["));
}

TEST_CASE("unix and unknown clients are printed as unix:ID and -:-") {
    auto f = tcp_fields();
    f.client_kind = p::AccessLogFields::Client::unix_socket;
    f.client_port = 3;
    CHECK(tcplog(f).starts_with("unix:3 [22/Nov/2026"));
    f.client_kind = p::AccessLogFields::Client::unknown;
    CHECK(tcplog(f).starts_with("-:- [22/Nov/2026"));
}

TEST_CASE("redispatch and logasap put '+' before retries, Tt and bytes") {
    auto f = tcp_fields();
    f.redispatched = true;
    f.retries = 2;
    f.logasap = true;
    CHECK(tcplog(f) == "10.0.1.2:33313 [22/Nov/2026:04:05:06.123] fnt bck/srv1 0/0/+5007 +212 -- 1/2/3/4/+2 0/0");
}

TEST_CASE("an ssl frontend gets '~' and an unrouted session shows the frontend as backend") {
    auto f = tcp_fields();
    f.frontend_ssl = true;
    f.backend = {};
    f.server = {};
    CHECK(tcplog(f).find(" fnt~ fnt/<NOSRV> ") != std::string::npos);
}

TEST_CASE("an httplog line matches HAProxy's documented example without captures") {
    CHECK(httplog(http_fields()) ==
          "10.0.1.2:33313 [22/Nov/2026:04:05:06.123] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- "
          "1/2/3/4/0 0/0 \"GET /index.html HTTP/1.1\"");
}

TEST_CASE("an httplog line for a denied request, a 503 without server and a bad request") {
    auto f = http_fields();
    f.client_ip = *geo::parse_ip("::1");
    f.client_port = 46158;
    f.backend = "bkn";
    f.server = {};
    f.t_request = 0;
    f.t_queue = f.t_connect = f.t_response = -1;
    f.t_active = 0;
    f.status = 503;
    f.bytes_out = 217;
    f.term_cause = p::TermCause::server_abort;
    f.term_phase = p::TermPhase::connect;
    f.request_line = "GET /nosrv HTTP/1.1";
    CHECK(httplog(f) == "::1:46158 [22/Nov/2026:04:05:06.123] http-in bkn/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- "
                        "1/2/3/4/0 0/0 \"GET /nosrv HTTP/1.1\"");
    f.backend = {};
    f.status = 403;
    f.term_cause = p::TermCause::proxy;
    f.term_phase = p::TermPhase::request;
    CHECK(httplog(f).find(" http-in http-in/<NOSRV> 0/-1/-1/-1/0 403 217 - - PR-- ") != std::string::npos);
    f.t_request = -1;
    f.status = 400;
    f.bytes_out = 0;
    f.term_cause = p::TermCause::client_abort;
    f.request_line = {};
    CHECK(httplog(f) == "::1:46158 [22/Nov/2026:04:05:06.123] http-in http-in/<NOSRV> -1/-1/-1/-1/0 400 0 - - CR-- "
                        "1/2/3/4/0 0/0 \"<BADREQ>\"");
}

TEST_CASE("the request line escapes control bytes, quotes, '#' and bytes above 126 as #XX") {
    auto f = http_fields();
    f.request_line = std::string_view("GET /a\"b#c\x01\x7f\xe9 HTTP/1.1");
    CHECK(httplog(f).ends_with(" 0/0 \"GET /a#22b#23c#01#7F#E9 HTTP/1.1\""));
}

TEST_CASE("a line longer than the buffer is cut at the buffer's end") {
    auto f = http_fields();
    std::string full = httplog(f);
    std::string cut = httplog(f, 40);
    CHECK(cut.size() == 40);
    CHECK(full.starts_with(cut));
    CHECK(httplog(f, 0).empty());
}

TEST_CASE("log_session applies the frontend's options and pushes one line per call") {
    p::LogRing ring(8, 1024);
    conf::Proxy fe;
    fe.name = "fnt";
    fe.is_frontend = true;
    auto f = tcp_fields();
    std::vector<std::string> lines;
    auto collect = [&] {
        lines.clear();
        ring.drain([&](const p::LogRing::Record& r) {
            CHECK(r.proxy == 3);
            CHECK(r.level == 6);
            lines.emplace_back(r.text);
        });
    };

    SUBCASE("no log target: nothing") {
        fe.option_tcplog = true;
        p::log_session(ring, fe, 3, 1, f);
        collect();
        CHECK(lines.empty());
    }
    fe.logs.push_back(conf::LogTarget{});
    SUBCASE("no tcplog/httplog option: nothing") {
        p::log_session(ring, fe, 3, 1, f);
        collect();
        CHECK(lines.empty());
    }
    SUBCASE("option tcplog: the tcplog line") {
        fe.option_tcplog = true;
        p::log_session(ring, fe, 3, 1, f);
        collect();
        REQUIRE(lines.size() == 1);
        CHECK(lines[0] == tcplog(f));
    }
    SUBCASE("option httplog in a tcp frontend falls back to tcplog; in http mode it is httplog") {
        fe.option_httplog = true;
        p::log_session(ring, fe, 3, 1, http_fields());
        fe.mode = conf::Mode::http;
        p::log_session(ring, fe, 3, 1, http_fields());
        collect();
        REQUIRE(lines.size() == 2);
        CHECK(lines[0] == tcplog(http_fields()));
        CHECK(lines[1] == httplog(http_fields()));
    }
    SUBCASE("dontlognull skips a session whose client sent nothing, not one that sent data") {
        fe.option_tcplog = true;
        fe.option_dontlognull = true;
        f.bytes_in = 0;
        p::log_session(ring, fe, 3, 1, f);
        f.bytes_in = 1;
        p::log_session(ring, fe, 3, 1, f);
        collect();
        CHECK(lines.size() == 1);
    }
    SUBCASE("targets whose level stops info get nothing formatted") {
        fe.option_tcplog = true;
        fe.logs[0].level = 5;   // notice
        p::log_session(ring, fe, 3, 1, f);
        collect();
        CHECK(lines.empty());
    }
}
