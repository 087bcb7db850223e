#include "core/rate_limit.hh"

#include <doctest/doctest.h>

#include <vector>

using skjold::core::KeyedLogRateLimit;
using skjold::core::LogAdmission;
using skjold::core::LogRateLimit;

TEST_CASE("the first occurrence is logged, repeats within a second are dropped and counted") {
    LogRateLimit limit;   // 1 line per 1000 ms
    auto first = limit.admit(5000);
    CHECK(first.log);
    CHECK(first.suppressed == 0);
    for (std::uint64_t t = 5001; t < 6000; t += 100) CHECK_FALSE(limit.admit(t));
    CHECK(limit.pending() == 10);
    auto next = limit.admit(6000);   // a second after the last line
    CHECK(next.log);
    CHECK(next.suppressed == 10);    // the line that gets through reports the dropped ones
    CHECK(limit.pending() == 0);
    CHECK(limit.total_suppressed() == 10);
}

TEST_CASE("a flood of a million occurrences over ten seconds writes one line per second") {
    LogRateLimit limit(1000);
    std::vector<std::uint64_t> reported;
    std::uint64_t lines = 0;
    for (std::uint64_t i = 0; i < 1'000'000; ++i) {
        if (auto a = limit.admit(i / 100)) {   // 100 occurrences per ms
            ++lines;
            reported.push_back(a.suppressed);
        }
    }
    CHECK(lines == 10);
    CHECK(reported.front() == 0);
    for (std::size_t k = 1; k < reported.size(); ++k) CHECK(reported[k] == 99'999);
    // Every occurrence is either a line or counted: nothing is lost.
    std::uint64_t sum = lines;
    for (auto r : reported) sum += r;
    CHECK(sum + limit.pending() == 1'000'000);
}

TEST_CASE("a burst lets several lines through per interval, then counts") {
    LogRateLimit limit(1000, 3);
    CHECK(limit.admit(0).log);
    CHECK(limit.admit(1).log);
    CHECK(limit.admit(2).log);
    CHECK_FALSE(limit.admit(3).log);
    CHECK_FALSE(limit.admit(999).log);
    auto a = limit.admit(1000);
    CHECK(a.log);
    CHECK(a.suppressed == 2);
    CHECK(limit.admit(1001).log);
    CHECK(limit.admit(1002).suppressed == 0);
    CHECK_FALSE(limit.admit(1003).log);
}

TEST_CASE("a quiet period resets the window and the count starts over") {
    LogRateLimit limit(250);
    CHECK(limit.admit(10).log);
    CHECK_FALSE(limit.admit(20).log);
    auto later = limit.admit(100000);
    CHECK(later.log);
    CHECK(later.suppressed == 1);
    CHECK(limit.admit(100250).suppressed == 0);
    CHECK(limit.total_suppressed() == 1);
}

TEST_CASE("a clock that steps back does not open a new window") {
    LogRateLimit limit(1000);
    CHECK(limit.admit(5000).log);
    CHECK_FALSE(limit.admit(4000).log);
    CHECK_FALSE(limit.admit(5999).log);
    CHECK(limit.admit(6000).suppressed == 2);
}

TEST_CASE("keys have separate budgets; keys that collide in the table share one") {
    KeyedLogRateLimit<4> limit(1000);
    CHECK(limit.admit(0, 0).log);
    CHECK(limit.admit(1, 0).log);    // another key: its own line
    CHECK_FALSE(limit.admit(0, 1).log);
    CHECK_FALSE(limit.admit(4, 2).log);   // 4 % 4 == 0: shares key 0's slot
    CHECK(limit.total_suppressed() == 2);
    auto a = limit.admit(0, 1000);
    CHECK(a.log);
    CHECK(a.suppressed == 2);
    CHECK(limit.admit(1, 500).log == false);
}
