// The workers' side of passive observation: which events count for which mode, what reaches
// the checker's queue, and when the checker is woken.
#include "health/observer.hh"

#include <doctest/doctest.h>

#include <poll.h>

#include <atomic>
#include <thread>
#include <tuple>
#include <vector>

using namespace skjold;
using health::ObserveEvent;
using health::Observer;

namespace {

conf::Snapshot snapshot(conf::Observe mode, bool check = true) {
    conf::Snapshot snap;
    conf::Proxy be;
    be.name = "b";
    be.is_backend = true;
    for (const char* n : {"s0", "s1"}) {
        conf::Server s;
        s.name = n;
        s.opt.check = check;
        s.opt.observe = mode;
        be.servers.push_back(s);
    }
    be.servers[1].opt.observe = conf::Observe::none;
    snap.proxies = {be};
    return snap;
}

using Seen = std::vector<std::tuple<int, int, ObserveEvent>>;

Seen drain(Observer& o) {
    Seen out;
    o.drain([&](int p, int s, ObserveEvent ev) { out.emplace_back(p, s, ev); });
    return out;
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("HTTP statuses 100-499, 501 and 505 are valid; other 5xx and nonsense are errors") {
    CHECK(health::observe_http_status(200) == ObserveEvent::http_ok);
    CHECK(health::observe_http_status(404) == ObserveEvent::http_ok);
    CHECK(health::observe_http_status(101) == ObserveEvent::http_ok);
    CHECK(health::observe_http_status(501) == ObserveEvent::http_ok);
    CHECK(health::observe_http_status(505) == ObserveEvent::http_ok);
    CHECK(health::observe_http_status(500) == ObserveEvent::http_status);
    CHECK(health::observe_http_status(502) == ObserveEvent::http_status);
    CHECK(health::observe_http_status(503) == ObserveEvent::http_status);
    CHECK(health::observe_http_status(504) == ObserveEvent::http_status);
    CHECK(health::observe_http_status(99) == ObserveEvent::http_status);
}

TEST_CASE("layer4 counts connection failures and ignores HTTP; layer7 counts both and ignores a connect success") {
    using conf::Observe;
    CHECK(health::observe_verdict(Observe::layer4, ObserveEvent::l4_ok) == -1);
    CHECK(health::observe_verdict(Observe::layer4, ObserveEvent::l4_error) == 1);
    CHECK(health::observe_verdict(Observe::layer4, ObserveEvent::l4_timeout) == 1);
    CHECK(health::observe_verdict(Observe::layer4, ObserveEvent::http_status) == 0);
    CHECK(health::observe_verdict(Observe::layer4, ObserveEvent::http_ok) == 0);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::l4_ok) == 0);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::l4_error) == 1);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::http_ok) == -1);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::http_status) == 1);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::http_read_timeout) == 1);
    CHECK(health::observe_verdict(Observe::layer7, ObserveEvent::http_broken_pipe) == 1);
    CHECK(health::observe_verdict(Observe::none, ObserveEvent::l4_error) == 0);
    CHECK(std::string(health::observe_event_text(ObserveEvent::l4_error)) == "L4 unsuccessful connection");
}

TEST_CASE("an error is queued and wakes the checker; events of unobserved servers never reach it") {
    const conf::Snapshot snap = snapshot(conf::Observe::layer4);
    Observer o(snap, 2);
    CHECK(o.observed(0, 0));
    CHECK_FALSE(o.observed(0, 1));
    CHECK_FALSE(o.observed(1, 0));
    o.report(1, 0, 1, ObserveEvent::l4_error);       // s1 does not observe
    o.report(0, 0, 0, ObserveEvent::http_status);    // layer4 ignores HTTP
    o.report(0, 5, 0, ObserveEvent::l4_error);       // out of range: ignored
    CHECK_FALSE(readable(o.event_fd()));
    CHECK(drain(o).empty());

    o.report(1, 0, 0, ObserveEvent::l4_error);
    CHECK(readable(o.event_fd()));
    const Seen seen = drain(o);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == std::make_tuple(0, 0, ObserveEvent::l4_error));
    CHECK_FALSE(readable(o.event_fd()));   // drain() consumed the wake-up
}

TEST_CASE("successes are queued only while they can reset something, and never wake the checker") {
    const conf::Snapshot snap = snapshot(conf::Observe::layer4);
    Observer o(snap, 2);
    for (int i = 0; i < 100; ++i) o.report(0, 0, 0, ObserveEvent::l4_ok);   // healthy: nothing queued
    CHECK(drain(o).empty());

    o.report(0, 0, 0, ObserveEvent::l4_error);
    o.report(0, 0, 0, ObserveEvent::l4_ok);          // this worker's last report was an error
    o.report(0, 0, 0, ObserveEvent::l4_ok);          // once reset, nothing more to say
    Seen seen = drain(o);
    REQUIRE(seen.size() == 2);
    CHECK(std::get<2>(seen[0]) == ObserveEvent::l4_error);
    CHECK(std::get<2>(seen[1]) == ObserveEvent::l4_ok);

    o.set_errors(0, 0, 3);                           // the checker counted errors from elsewhere
    o.report(1, 0, 0, ObserveEvent::l4_ok);          // another worker's success now matters
    CHECK_FALSE(readable(o.event_fd()));
    seen = drain(o);
    REQUIRE(seen.size() == 1);
    CHECK(std::get<2>(seen[0]) == ObserveEvent::l4_ok);
}

TEST_CASE("a full ring drops events and counts them instead of blocking the worker") {
    const conf::Snapshot snap = snapshot(conf::Observe::layer4);
    Observer o(snap, 1);
    for (std::uint32_t i = 0; i < Observer::kRingSize + 10; ++i) o.report(0, 0, 0, ObserveEvent::l4_error);
    CHECK(o.dropped() == 10);
    CHECK(drain(o).size() == Observer::kRingSize);
    o.report(0, 0, 0, ObserveEvent::l4_error);
    CHECK(drain(o).size() == 1);
}

TEST_CASE("observe without check observes nothing (HAProxy requires health checks for it)") {
    const conf::Snapshot snap = snapshot(conf::Observe::layer4, false);
    Observer o(snap, 1);
    CHECK_FALSE(o.observed(0, 0));
    o.report(0, 0, 0, ObserveEvent::l4_error);
    CHECK(drain(o).empty());
}

TEST_CASE("events from several workers racing the checker's drain are each seen once or counted as dropped") {
    const conf::Snapshot snap = snapshot(conf::Observe::layer7);
    Observer o(snap, 3);
    constexpr int kPerWorker = 20000;
    std::atomic<int> done{0};
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < 3; ++w)
        workers.emplace_back([&o, &done, w] {
            // Alternating error/success: every success follows this worker's error, so none is
            // filtered out and the count below is exact.
            for (int i = 0; i < kPerWorker; ++i)
                o.report(w, 0, 0, i % 2 == 0 ? ObserveEvent::http_status : ObserveEvent::http_ok);
            done.fetch_add(1);
        });
    std::size_t seen = 0, errors = 0;
    auto count = [&](int, int, ObserveEvent ev) {
        ++seen;
        errors += ev == ObserveEvent::http_status ? 1 : 0;
    };
    while (done.load() < 3) o.drain(count);
    for (auto& t : workers) t.join();
    o.drain(count);
    CHECK(seen + o.dropped() == 3u * kPerWorker);
    CHECK(seen > 0);
    CHECK(errors <= 3u * kPerWorker / 2);
}
