#include "core/timer_wheel.hh"

#include <doctest/doctest.h>
#include <vector>

using skjold::core::TimerNode;
using skjold::core::TimerWheel;

TEST_CASE("a timer fires once its deadline has passed, not before") {
    TimerWheel w(1000);
    TimerNode n;
    w.arm(n, 1050);
    int fired = 0;
    CHECK(w.advance(1049, [&](TimerNode*) { ++fired; }) == 0);
    CHECK(fired == 0);
    CHECK(w.advance(1050, [&](TimerNode* x) { CHECK(x == &n); ++fired; }) == 1);
    CHECK(fired == 1);
    CHECK_FALSE(n.armed());
    CHECK(w.size() == 0);
}

TEST_CASE("a deadline several turns of the wheel away waits for its turn") {
    TimerWheel w(0);
    TimerNode n;
    const std::uint64_t far = 3 * TimerWheel::kSlots + 17;
    w.arm(n, far);
    int fired = 0;
    for (std::uint64_t t = 0; t < far; t += 333) w.advance(t, [&](TimerNode*) { ++fired; });
    CHECK(fired == 0);
    w.advance(far, [&](TimerNode*) { ++fired; });
    CHECK(fired == 1);
}

TEST_CASE("a cancelled timer never fires and re-arming moves the deadline") {
    TimerWheel w(0);
    TimerNode a, b;
    w.arm(a, 10);
    w.arm(b, 10);
    w.cancel(a);
    w.arm(b, 30);
    std::vector<TimerNode*> seen;
    w.advance(20, [&](TimerNode* n) { seen.push_back(n); });
    CHECK(seen.empty());
    w.advance(30, [&](TimerNode* n) { seen.push_back(n); });
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == &b);
}

TEST_CASE("a callback may re-arm the timer it is handling without firing it twice in one pass") {
    TimerWheel w(0);
    TimerNode n;
    w.arm(n, 5);
    int fired = 0;
    w.advance(5, [&](TimerNode* x) { ++fired; w.arm(*x, 5); });   // already due again
    CHECK(fired == 1);
    CHECK(n.armed());
    w.advance(6, [&](TimerNode*) { ++fired; });
    CHECK(fired == 2);
}

TEST_CASE("next_wait reports the time to the earliest deadline, capped") {
    TimerWheel w(100);
    CHECK(w.next_wait(100, 1000) == 1000);
    TimerNode n;
    w.arm(n, 250);
    CHECK(w.next_wait(100, 1000) == 150);
    CHECK(w.next_wait(100, 50) == 50);
    CHECK(w.next_wait(300, 1000) == 0);
}

TEST_CASE("a jump far past every deadline fires all of them once") {
    TimerWheel w(0);
    std::vector<TimerNode> nodes(100);
    for (std::size_t i = 0; i < nodes.size(); ++i) w.arm(nodes[i], i * 97);
    int fired = 0;
    w.advance(1'000'000, [&](TimerNode*) { ++fired; });
    CHECK(fired == 100);
    CHECK(w.size() == 0);
}
