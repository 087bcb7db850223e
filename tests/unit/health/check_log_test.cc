// Every expected line below was produced by haproxy 2.6.12 on 127.0.0.1 with the same
// situation (see the report of issue #5), then checked against src/server.c and src/check.c.
#include "health/check_log.hh"

#include <doctest/doctest.h>

#include <string>

using namespace skjold;
using health::BackendCounts;
using health::CheckLogLine;
using health::CheckReport;
using health::CheckStatus;
using health::ServerRef;

TEST_CASE("a refused connect makes HAProxy's DOWN line, with Running on backup when only backups remain") {
    CheckLogLine l;
    const CheckReport r{CheckStatus::l4con, 0, 0, "Connection refused"};
    CHECK(l.server_down({"plain", "web01", false}, &r, BackendCounts{0, 1}, 0) ==
          "Server plain/web01 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", "
          "check duration: 0ms. 0 active and 1 backup servers left. Running on backup. "
          "0 sessions active, 0 requeued, 0 remaining in queue.");
    CHECK(l.server_down({"plain", "bk1", true}, &r, BackendCounts{0, 0}, 3) ==
          "Backup Server plain/bk1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", "
          "check duration: 0ms. 0 active and 0 backup servers left. 3 sessions active, 0 requeued, "
          "0 remaining in queue.");
}

TEST_CASE("a wrong HTTP status prints the code and the reason phrase") {
    CheckLogLine l;
    const CheckReport r{CheckStatus::l7sts, 503, 3, "Service Unavailable"};
    CHECK(l.server_down({"h", "web01", false}, &r, BackendCounts{0, 0}, 0) ==
          "Server h/web01 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", "
          "check duration: 3ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, "
          "0 remaining in queue.");
}

TEST_CASE("timeouts and invalid responses print no code") {
    CheckLogLine l;
    const CheckReport t{CheckStatus::l7tout, 0, 506, {}};
    CHECK(l.server_down({"s2", "silent2", false}, &t, BackendCounts{0, 0}, 0) ==
          "Server s2/silent2 is DOWN, reason: Layer7 timeout, check duration: 506ms. 0 active and 0 backup "
          "servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
    const CheckReport r{CheckStatus::l7rsp, 200, 0, "HTTP content check did not match"};
    CHECK(l.server_down({"b5", "str", false}, &r, BackendCounts{0, 0}, 0) ==
          "Server b5/str is DOWN, reason: Layer7 invalid response, info: \"HTTP content check did not match\", "
          "check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, "
          "0 remaining in queue.");
}

TEST_CASE("the UP line of HTTP and TCP checks") {
    CheckLogLine l;
    const CheckReport h{CheckStatus::l7ok, 200, 0, {}};
    CHECK(l.server_up({"h", "web01", false}, &h, BackendCounts{1, 0}) ==
          "Server h/web01 is UP, reason: Layer7 check passed, code: 200, check duration: 0ms. "
          "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
    const CheckReport t{CheckStatus::l4ok, 0, 0, {}};
    CHECK(l.server_up({"p", "tcp1", false}, &t, BackendCounts{1, 0}) ==
          "Server p/tcp1 is UP, reason: Layer4 check passed, check duration: 0ms. "
          "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
}

TEST_CASE("with log-health-checks the transition lines carry no reason") {
    CheckLogLine l;
    CHECK(l.server_down({"q", "tcp2", false}, nullptr, BackendCounts{0, 0}, 0) ==
          "Server q/tcp2 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, "
          "0 remaining in queue.");
    CHECK(l.server_up({"q", "tcp2", false}, nullptr, BackendCounts{1, 0}) ==
          "Server q/tcp2 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
}

TEST_CASE("health check lines show the counter as HAProxy does (x/rise DOWN, x/fall UP)") {
    CheckLogLine l;
    const CheckReport f{CheckStatus::l4con, 0, 0, "Connection refused"};
    CHECK(l.health_check({"q", "tcp2", false}, f, 0, 2, 3, false) ==
          "Health check for server q/tcp2 failed, reason: Layer4 connection problem, info: \"Connection "
          "refused\", check duration: 0ms, status: 0/2 DOWN.");
    CHECK(l.health_check({"q", "tcp2", false}, f, 3, 2, 3, false) ==
          "Health check for server q/tcp2 failed, reason: Layer4 connection problem, info: \"Connection "
          "refused\", check duration: 0ms, status: 2/3 UP.");
    const CheckReport ok{CheckStatus::l4ok, 0, 0, {}};
    CHECK(l.health_check({"q", "tcp2", false}, ok, 1, 2, 3, false) ==
          "Health check for server q/tcp2 succeeded, reason: Layer4 check passed, check duration: 0ms, "
          "status: 1/2 DOWN.");
    const CheckReport h{CheckStatus::l7ok, 200, 1, {}};
    CHECK(l.health_check({"lhc", "w2", true}, h, 4, 2, 3, true) ==
          "Health check for backup server lhc/w2 succeeded, reason: Layer7 check passed, code: 200, "
          "check duration: 1ms, status: 3/3 DRAIN.");
}

TEST_CASE("a backend with no server left is announced as backend, a listen section as proxy") {
    CheckLogLine l;
    CHECK(l.no_server("plain", false) == "backend plain has no server available!");
    CHECK(l.no_server("lst", true) == "proxy lst has no server available!");
}

TEST_CASE("info is quoted as chunk_asciiencode does: quotes, angle brackets and control bytes in hex") {
    CheckLogLine l;
    const CheckReport r{CheckStatus::l7sts, 500, 0, "a \"b\" <c>\x01"};
    const std::string line(l.server_up({"b", "s", false}, &r, BackendCounts{1, 0}));
    CHECK(line.find("info: \"a <22>b<22> <3C>c<3E><01>\"") != std::string::npos);
}

TEST_CASE("an overlong line is truncated to the buffer, never overflowing it") {
    CheckLogLine l;
    const std::string huge(5000, 'x');
    const CheckReport r{CheckStatus::l7sts, 500, 0, huge};
    CHECK(l.server_down({"b", "s", false}, &r, BackendCounts{0, 0}, 0).size() == CheckLogLine::kCapacity);
}
