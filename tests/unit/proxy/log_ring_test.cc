// The per-worker log ring: records come out in order with their metadata; a full ring drops
// and counts instead of waiting; one producer and one consumer thread lose nothing they did
// not count.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "proxy/log_ring.hh"

namespace p = skjold::proxy;

TEST_CASE("records come out oldest first with their proxy, level, time and text") {
    p::LogRing ring(4, 64);
    CHECK(ring.capacity() == 4);
    CHECK(ring.push(1, 6, 100, "first"));
    CHECK(ring.push(2, 4, 200, "second"));
    std::vector<std::string> seen;
    std::size_t n = ring.drain([&](const p::LogRing::Record& r) {
        seen.push_back(std::to_string(r.proxy) + "/" + std::to_string(r.level) + "/" + std::to_string(r.time_us) +
                       "/" + std::string(r.text));
    });
    CHECK(n == 2);
    CHECK(seen == std::vector<std::string>{"1/6/100/first", "2/4/200/second"});
    CHECK(ring.drain([](const p::LogRing::Record&) {}) == 0);   // consumed
}

TEST_CASE("the slot count is rounded up to a power of two") {
    CHECK(p::LogRing(5, 16).capacity() == 8);
    CHECK(p::LogRing(0, 16).capacity() == 2);
}

TEST_CASE("a full ring drops new records and counts them; draining makes room again") {
    p::LogRing ring(4, 32);
    for (int i = 0; i < 4; ++i) CHECK(ring.push(0, 6, i, "x"));
    CHECK(ring.dropped() == 0);
    CHECK_FALSE(ring.push(0, 6, 9, "lost"));
    CHECK(ring.reserve() == nullptr);
    CHECK(ring.dropped() == 2);
    std::vector<std::int64_t> times;
    ring.drain([&](const p::LogRing::Record& r) { times.push_back(r.time_us); });
    CHECK(times == std::vector<std::int64_t>{0, 1, 2, 3});   // the dropped ones never appear
    CHECK(ring.push(0, 6, 10, "again"));
    CHECK(ring.dropped() == 2);
}

TEST_CASE("drain hands out at most `max` records per call") {
    p::LogRing ring(8, 16);
    for (int i = 0; i < 5; ++i) ring.push(0, 6, i, "r");
    CHECK(ring.drain([](const p::LogRing::Record&) {}, 3) == 3);
    CHECK(ring.drain([](const p::LogRing::Record&) {}, 3) == 2);
}

TEST_CASE("text longer than a slot is cut at the slot's capacity") {
    p::LogRing ring(2, 8);
    CHECK(ring.push(0, 6, 0, "0123456789abcdef"));
    std::string got;
    ring.drain([&](const p::LogRing::Record& r) { got = r.text; });
    CHECK(got == "01234567");
    // reserve/commit: the producer formats in place; commit cuts an over-long length too.
    char* slot = ring.reserve();
    REQUIRE(slot != nullptr);
    for (std::size_t i = 0; i < ring.text_capacity(); ++i) slot[i] = 'z';
    ring.commit(7, 3, 42, 1000);
    ring.drain([&](const p::LogRing::Record& r) {
        CHECK(r.proxy == 7);
        got = r.text;
    });
    CHECK(got == "zzzzzzzz");
}

TEST_CASE("a producer and a consumer thread: every record is either received in order or counted as dropped") {
    p::LogRing ring(64, 32);
    constexpr int kRecords = 200000;
    std::atomic<bool> done{false};
    std::vector<std::int64_t> received;
    received.reserve(kRecords);
    std::thread consumer([&] {
        // Bounded: the producer finishes in well under the limit; the loop ends once it has and
        // the ring is empty.
        for (;;) {
            bool finished = done.load(std::memory_order_acquire);
            ring.drain([&](const p::LogRing::Record& r) {
                received.push_back(r.time_us);
                CHECK(r.text == std::to_string(r.time_us));
            });
            if (finished && ring.drain([&](const p::LogRing::Record& r) { received.push_back(r.time_us); }) == 0) break;
        }
    });
    for (int i = 0; i < kRecords; ++i) ring.push(0, 6, i, std::to_string(i));
    done.store(true, std::memory_order_release);
    consumer.join();
    CHECK(received.size() + ring.dropped() == static_cast<std::size_t>(kRecords));
    bool ordered = true;
    for (std::size_t i = 1; i < received.size(); ++i)
        if (received[i] <= received[i - 1]) ordered = false;
    CHECK(ordered);
    CHECK(received.size() > 0);
}
