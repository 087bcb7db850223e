#include "health/health_counter.hh"

#include <doctest/doctest.h>

using namespace skjold;
using health::becomes_down;
using health::becomes_up;
using health::check_interval;
using health::next_health;

TEST_CASE("one failure from the start state (health = rise) takes a server DOWN with counter 0") {
    auto s = next_health(/*health=*/2, /*rise=*/2, /*fall=*/3, /*passed=*/false);
    CHECK(s.health == 0);
    CHECK(s.changed);
    CHECK(becomes_down(s.health, false));
}

TEST_CASE("a fully UP server goes DOWN only after fall consecutive failures") {
    const int rise = 2, fall = 3;
    int h = rise + fall - 1;   // 4: fully UP
    h = next_health(h, rise, fall, false).health;
    CHECK(h == 3);
    CHECK_FALSE(becomes_down(h, false));
    h = next_health(h, rise, fall, false).health;
    CHECK(h == 2);
    CHECK_FALSE(becomes_down(h, false));
    h = next_health(h, rise, fall, false).health;   // 1 < rise: straight to 0
    CHECK(h == 0);
    CHECK(becomes_down(h, false));
}

TEST_CASE("a success while going down restores fully UP at once") {
    auto s = next_health(/*health=*/2, 2, 3, true);   // one failure from fully UP, then OK
    CHECK(s.health == 4);
    CHECK(s.changed);
}

TEST_CASE("a DOWN server comes UP after rise consecutive successes, jumping to rise+fall-1") {
    const int rise = 3, fall = 2;
    int h = 0;
    h = next_health(h, rise, fall, true).health;
    CHECK(h == 1);
    CHECK_FALSE(becomes_up(h, rise, true));
    h = next_health(h, rise, fall, true).health;
    CHECK(h == 2);
    h = next_health(h, rise, fall, true).health;
    CHECK(h == 4);
    CHECK(becomes_up(h, rise, true));
}

TEST_CASE("a failure while coming up sends the counter back to 0; one at 0 changes nothing") {
    auto s = next_health(/*health=*/2, /*rise=*/3, 2, false);
    CHECK(s.health == 0);
    CHECK(s.changed);
    auto again = next_health(0, 3, 2, false);
    CHECK(again.health == 0);
    CHECK_FALSE(again.changed);
    auto top = next_health(4, 3, 2, true);
    CHECK(top.health == 4);
    CHECK_FALSE(top.changed);
}

TEST_CASE("the interval is inter when fully UP, fastinter in transition and unchecked, downinter when DOWN") {
    conf::ServerOptions o;
    o.rise = 2;
    o.fall = 3;
    o.inter = 2000;
    o.fastinter = 100;
    o.downinter = 5000;
    CHECK(check_interval(o, 4, false) == 2000);   // fully UP
    CHECK(check_interval(o, 2, false) == 100);    // start state (not checked yet) / going down
    CHECK(check_interval(o, 3, false) == 100);
    CHECK(check_interval(o, 0, true) == 5000);    // DOWN
    CHECK(check_interval(o, 1, true) == 100);     // DOWN, going up
}

TEST_CASE("fastinter and downinter fall back to inter when not set") {
    conf::ServerOptions o;
    o.inter = 1500;
    CHECK(check_interval(o, 2, false) == 1500);
    CHECK(check_interval(o, 0, true) == 1500);
    CHECK(check_interval(o, 1, true) == 1500);
}
