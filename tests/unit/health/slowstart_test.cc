// slowstart: the effective weight of a server coming back ramps from 1 to its weight over T
// (configuration.txt "slowstart"), only for dynamic algorithms, only after a failure.
#include "health/server_state.hh"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace skjold;
using health::Admin;
using health::BackendState;
using health::Health;

namespace {

conf::Proxy backend(conf::Balance algo, int weight, conf::Millis slowstart) {
    conf::Proxy p;
    p.name = "b";
    p.is_backend = true;
    p.balance = algo;
    for (const char* n : {"a", "b"}) {
        conf::Server s;
        s.name = n;
        s.opt.check = true;
        s.opt.weight = weight;
        s.opt.slowstart = slowstart;
        p.servers.push_back(s);
    }
    return p;
}

}  // namespace

TEST_CASE("the slowstart weight grows linearly from 1 to the full weight, rounded up") {
    CHECK(health::slowstart_weight(100, 0, 10000) == 1);
    CHECK(health::slowstart_weight(100, 1000, 10000) == 10);
    CHECK(health::slowstart_weight(100, 5000, 10000) == 50);
    CHECK(health::slowstart_weight(100, 9999, 10000) == 100);
    CHECK(health::slowstart_weight(100, 10000, 10000) == 100);
    CHECK(health::slowstart_weight(100, 50000, 10000) == 100);
    CHECK(health::slowstart_weight(1, 1, 10000) == 1);      // never below 1
    CHECK(health::slowstart_weight(0, 5000, 10000) == 0);   // weight 0 stays 0
    CHECK(health::slowstart_weight(30, 0, 0) == 30);        // no slowstart
}

TEST_CASE("ramp steps are a twentieth of slowstart, never faster than every 100 ms") {
    CHECK(health::slowstart_step(20000) == 1000);
    CHECK(health::slowstart_step(1000) == 100);
    CHECK(health::slowstart_step(500) == 100);
}

TEST_CASE("a server coming back from DOWN starts at weight 1, counts as usable, and ramps to UP") {
    BackendState b(backend(conf::Balance::roundrobin, 40, 2000));
    CHECK(b.server(0).health() == Health::up);   // never at start
    CHECK(b.server(0).weight() == 40);
    b.set_health_down(0);
    const std::uint64_t t = 1'000'000;
    b.set_health_up(0, t);
    CHECK(b.server(0).health() == Health::starting);
    CHECK(b.server(0).health_counter() == 4);   // fully up for the checks
    CHECK(b.server(0).weight() == 1);
    CHECK(b.server(0).user_weight() == 40);
    CHECK(health::usable(b.server(0)));
    CHECK(health::nbsrv(b) == 2);

    auto g = b.generation();
    CHECK(b.ramp(0, t + 500));
    CHECK(b.server(0).weight() == 10);
    CHECK(b.generation() > g);
    g = b.generation();
    CHECK(b.ramp(0, t + 500));            // same weight: nobody needs to rebuild
    CHECK(b.generation() == g);
    CHECK(b.ramp(0, t + 1500));
    CHECK(b.server(0).weight() == 30);
    CHECK_FALSE(b.ramp(0, t + 2000));     // done
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).weight() == 40);
    CHECK_FALSE(b.ramp(0, t + 2100));     // not starting any more
}

TEST_CASE("leaving MAINT ramps with slowstart too; a set weight during the ramp is ramped") {
    BackendState b(backend(conf::Balance::leastconn, 10, 1000));
    b.set_admin(0, Admin::maint, 100);
    b.set_admin(0, Admin::ready, 200);
    CHECK(b.server(0).health() == Health::starting);
    CHECK(b.server(0).health_counter() == 2);   // rise: "start OK but check at once"
    CHECK(b.server(0).weight() == 1);
    b.set_weight(0, 100);
    CHECK(b.server(0).user_weight() == 100);
    CHECK(b.ramp(0, 700));
    CHECK(b.server(0).weight() == 50);
}

TEST_CASE("static algorithms do not ramp: the server is back at its full weight") {
    for (auto algo : {conf::Balance::static_rr, conf::Balance::source}) {
        BackendState b(backend(algo, 20, 5000));
        CHECK_FALSE(b.dynamic_weights());
        b.set_health_down(0);
        b.set_health_up(0, 1000);
        CHECK(b.server(0).weight() == 20);
    }
    BackendState rr(backend(conf::Balance::random, 20, 5000));
    CHECK(rr.dynamic_weights());
}

TEST_CASE("a stopping server forced back up does not slowstart; only a failed one does") {
    BackendState b(backend(conf::Balance::roundrobin, 8, 1000));
    b.set_health_stopping(0);
    b.set_health_up(0, 50);
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).weight() == 8);
}

TEST_CASE("a reload in the middle of a ramp continues it") {
    auto px = backend(conf::Balance::roundrobin, 40, 2000);
    BackendState old(px);
    old.set_health_down(0);
    old.set_health_up(0, 1000);
    BackendState fresh(px);
    fresh.carry_over(old);
    CHECK(fresh.server(0).health() == Health::starting);
    CHECK(fresh.ramp(0, 2000));
    CHECK(fresh.server(0).weight() == 20);
}
