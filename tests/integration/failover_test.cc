// Failover under load in HTTP mode (health issue): 50 concurrent keep-alive clients, one of two
// servers killed in the middle, `retries 3` + `option redispatch`: not one GET may fail. Needs the
// HTTP engine; until HTTP mode may start, the test says so and is skipped.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// True when this build starts HTTP mode (it refuses keywords whose runtime is missing).
bool http_mode_starts(const t::Tempdir& dir, const std::string& config) {
    const auto cfg = dir.write("probe.cfg", config);
    auto r = t::run_process({t::skjold_binary(), "-f", cfg.string(), "--ready-file", (dir.path() / "probe.ready").string()}, 3s);
    // It either exits at once with the refusal, or runs (and is killed by the timeout).
    return (r.out + r.err).find("HTTP mode is not available yet") == std::string::npos;
}

struct LoadResult {
    std::uint64_t ok = 0, failed = 0;
    std::vector<std::string> failures;   // the first few, for the report
};

// `clients` threads, each on its own keep-alive connection (reopened when the proxy closes it
// after a complete response), sending GETs until `until`. A GET fails when no 200 comes back
// for it, whatever the reason.
LoadResult run_load(const t::Address& at, int clients, Clock::time_point until) {
    LoadResult total;
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            LoadResult mine;
            auto client = t::HttpClient::open(at);
            int n = 0;
            while (Clock::now() < until && n < 100000) {
                ++n;
                if (!client.connected()) client = t::HttpClient::open(at);
                const std::string req = "GET /item/" + std::to_string(c) + "/" + std::to_string(n) +
                                        " HTTP/1.1\r\nHost: failover.test\r\n\r\n";
                t::HttpResponse r;
                if (client.connected() && client.send(req, 2s)) r = client.read_final(false, 3s);
                else r.error = client.connected() ? "send failed" : "connect failed: " + client.error();
                if (r.ok() && r.status == 200) {
                    ++mine.ok;
                } else {
                    ++mine.failed;
                    if (mine.failures.size() < 3)
                        mine.failures.push_back("client " + std::to_string(c) + " GET " + std::to_string(n) + ": " +
                                                (r.ok() ? "status " + std::to_string(r.status) : r.error));
                    client = t::HttpClient::open(at);
                    continue;
                }
                if (r.has_token("Connection", "close")) client = t::HttpClient::open(at);
            }
            std::lock_guard<std::mutex> g(mu);
            total.ok += mine.ok;
            total.failed += mine.failed;
            for (auto& f : mine.failures)
                if (total.failures.size() < 10) total.failures.push_back(std::move(f));
        });
    }
    for (auto& th : threads) th.join();
    return total;
}

}  // namespace

TEST_SUITE_BEGIN("failover");

TEST_CASE("50 keep-alive clients lose no GET when one of two servers is killed (retries 3, option redispatch)") {
    t::Tempdir dir;
    auto s1 = std::make_unique<t::HttpBackend>("s1");
    t::HttpBackend s2("s2");
    const std::string config = std::string(t::kHttpDefaults) +
                               t::fill("frontend fe\n"
                                       "    bind 127.0.0.1:0\n"
                                       "    default_backend pool\n"
                                       "backend pool\n"
                                       "    balance roundrobin\n"
                                       "    retries 3\n"
                                       "    option redispatch\n"
                                       "    server s1 ${S1} check inter 100ms fall 2 rise 2\n"
                                       "    server s2 ${S2} check inter 100ms fall 2 rise 2\n",
                                       {{"S1", s1->addr()}, {"S2", s2.addr()}});
    if (!http_mode_starts(dir, config)) {
        MESSAGE("SKIPPED: this build does not start HTTP mode yet (the HTTP engine is not in)");
        return;
    }
    auto lb = t::start_with_config(dir, config);
    const auto fe = lb.listener("fe");
    const auto start = Clock::now();
    std::thread killer([&] {
        std::this_thread::sleep_for(1s);
        s1.reset();   // listener and every connection closed at once, as a crash would
    });
    const LoadResult r = run_load(fe, 50, start + 3s);
    killer.join();
    for (const auto& f : r.failures) MESSAGE(f);
    MESSAGE("GETs ok " << r.ok << ", failed " << r.failed);
    CHECK(r.ok > 500);
    CHECK(r.failed == 0);
    CHECK(s2.requests() > 0);
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("Server pool/s1 is DOWN") != std::string::npos);
}
