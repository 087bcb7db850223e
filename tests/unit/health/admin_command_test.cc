// The stats socket's server arguments and weights, with HAProxy's own error texts (verified
// against haproxy 2.6.12's CLI).
#include "health/admin_command.hh"

#include <doctest/doctest.h>

#include <string>

using namespace skjold;
using health::parse_weight;
using health::resolve_weight;
using health::WeightArg;

namespace {

std::string error_of(const core::Result<WeightArg>& r) { return r ? std::string("ok") : r.error().detail; }

conf::Snapshot snapshot() {
    conf::Snapshot snap;
    conf::Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    conf::Proxy be;
    be.name = "app";
    be.is_backend = true;
    for (const char* n : {"web1", "web2"}) {
        conf::Server s;
        s.name = n;
        be.servers.push_back(s);
    }
    snap.proxies = {fe, be};
    return snap;
}

}  // namespace

TEST_CASE("weights parse as HAProxy's set weight reads them") {
    auto abs = parse_weight("10");
    REQUIRE(abs);
    CHECK(abs->value == 10);
    CHECK_FALSE(abs->percent);
    auto rel = parse_weight("50%");
    REQUIRE(rel);
    CHECK(rel->value == 50);
    CHECK(rel->percent);
    CHECK(parse_weight("0")->value == 0);
    CHECK(parse_weight("256")->value == 256);
    CHECK(parse_weight("+7")->value == 7);
}

TEST_CASE("bad weights get HAProxy's answers") {
    CHECK(error_of(parse_weight("")) == "Require <weight> or <weight%>.");
    CHECK(error_of(parse_weight("x")) == "Empty weight string empty or preceded by garbage");
    CHECK(error_of(parse_weight("5x")) == "Trailing garbage in weight string");
    CHECK(error_of(parse_weight("300")) == "Absolute weight can only be between 0 and 256 inclusive.");
    CHECK(error_of(parse_weight("-1")) == "Absolute weight can only be between 0 and 256 inclusive.");
    CHECK(error_of(parse_weight("-1%")) == "Relative weight must be positive.");
    CHECK(error_of(parse_weight("5%%")) == "Trailing garbage in weight string");
}

TEST_CASE("a relative weight is a share of the configured weight, capped at 256, rounded down") {
    CHECK(resolve_weight(10, {50, true}) == 5);
    CHECK(resolve_weight(10, {100, true}) == 10);
    CHECK(resolve_weight(10, {300, true}) == 30);
    CHECK(resolve_weight(100, {1000, true}) == 256);
    CHECK(resolve_weight(1, {50, true}) == 0);     // HAProxy's integer arithmetic
    CHECK(resolve_weight(10, {7, false}) == 7);
}

TEST_CASE("backend/server arguments resolve by name or #position, with HAProxy's errors") {
    const conf::Snapshot snap = snapshot();
    auto r = health::find_server(snap, "app/web2");
    REQUIRE(r);
    CHECK(r->proxy == 1);
    CHECK(r->server == 1);
    auto byid = health::find_server(snap, "#2/#1");
    REQUIRE(byid);
    CHECK(byid->server == 0);
    CHECK(health::find_server(snap, "app").error().detail == "Require 'backend/server'.");
    CHECK(health::find_server(snap, "app/").error().detail == "Require 'backend/server'.");
    CHECK(health::find_server(snap, "nope/web1").error().detail == "No such backend.");
    CHECK(health::find_server(snap, "fe/web1").error().detail == "No such backend.");   // a frontend only
    CHECK(health::find_server(snap, "app/web9").error().detail == "No such server.");
    CHECK(health::find_server(snap, "app/#3").error().code == core::Errc::not_found);
}
