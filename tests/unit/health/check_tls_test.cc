// TLS health checks: which servers are checked over TLS (HAProxy's rule), and the Layer6
// statuses a TLS check reports, with HAProxy's names and numbers.
#include <doctest/doctest.h>

#include "health/check_status.hh"
#include "health/check_tls.hh"

using namespace skjold;
using namespace skjold::health;

TEST_CASE("checks use TLS with check-ssl, or with ssl unless port or addr sends them elsewhere") {
    conf::Server s;
    CHECK_FALSE(check_uses_tls(s));
    s.opt.ssl = true;
    CHECK(check_uses_tls(s));
    s.opt.check_port = 8080;
    CHECK_FALSE(check_uses_tls(s));   // HAProxy: a check port is checked in clear
    s.opt.check_ssl = true;
    CHECK(check_uses_tls(s));
    conf::Server plain;
    plain.opt.check_ssl = true;       // a clear-text server whose checks go over TLS
    CHECK(check_uses_tls(plain));
    conf::Server addr;
    addr.opt.ssl = true;
    addr.opt.check_addr = core::SockAddr{};
    CHECK_FALSE(check_uses_tls(addr));
}

TEST_CASE("Layer6 statuses: L6OK passes, L6TOUT and L6RSP fail, with HAProxy's codes 9, 10, 11") {
    CHECK(std::string(check_status_name(CheckStatus::l6ok)) == "L6OK");
    CHECK(std::string(check_status_description(CheckStatus::l6ok)) == "Layer6 check passed");
    CHECK(std::string(check_status_name(CheckStatus::l6tout)) == "L6TOUT");
    CHECK(std::string(check_status_description(CheckStatus::l6tout)) == "Layer6 timeout");
    CHECK(std::string(check_status_name(CheckStatus::l6rsp)) == "L6RSP");
    CHECK(std::string(check_status_description(CheckStatus::l6rsp)) == "Layer6 invalid response");
    CHECK(check_status_passed(CheckStatus::l6ok));
    CHECK_FALSE(check_status_passed(CheckStatus::l6tout));
    CHECK_FALSE(check_status_passed(CheckStatus::l6rsp));
    CHECK(haproxy_check_status_code(CheckStatus::l6ok) == 9);
    CHECK(haproxy_check_status_code(CheckStatus::l6tout) == 10);
    CHECK(haproxy_check_status_code(CheckStatus::l6rsp) == 11);
    CHECK_FALSE(check_status_has_code(CheckStatus::l6rsp));   // no ", code: N" in the log line
    // The statuses after them keep their names.
    CHECK(std::string(check_status_name(CheckStatus::l7tout)) == "L7TOUT");
    CHECK(std::string(check_status_name(CheckStatus::l7sts)) == "L7STS");
}
