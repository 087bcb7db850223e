// Abuse that a client or a server can inflict (issue 8, limits): descriptors running out (accept
// backs off without spinning and resumes), slowloris (5,000 connections sending one byte a
// second while a normal client is served), and servers that never end a response, reset it
// mid-body, or answer garbage. These run under ASan in CI, which reports leaks at exit.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "abuse_peers.hh"
#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = t::Received::End;

namespace {

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

std::string http_config(std::string_view global, std::string_view frontend, const std::string& server) {
    return "global\n" + std::string(global) + std::string(t::kHttpDefaults) +
           t::fill("frontend fe\n"
                   "    bind 127.0.0.1:0\n"
                   "${FE}"
                   "    default_backend be\n"
                   "backend be\n"
                   "    server s1 ${S}\n",
                   {{"FE", std::string(frontend)}, {"S", server}});
}

}  // namespace

TEST_SUITE_BEGIN("abuse");

// ---------------------------------------------------------------------------------------------
// Descriptors run out

TEST_CASE("when descriptors run out accept backs off without spinning and resumes once connections close") {
    t::Tempdir dir;
    t::HttpBackend app("app");
    // ulimit-n 64 leaves room for about fifty client connections; maxconn is set far above it so
    // that the descriptor limit, not maxconn, is what stops accept. monitor-uri answers without a
    // server connection, so each client costs exactly one descriptor and the clients that got in
    // are served whatever happens to the others.
    auto lb = t::start_with_config(
        dir, http_config("    nbthread 1\n    ulimit-n 64\n    maxconn 1000\n", "    monitor-uri /alive\n", app.addr()));
    constexpr int kClients = 90;
    const std::string request = t::http_get("/alive");
    std::vector<t::Connection> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(t::Connection::open(lb.listener("fe")));   // completes in the listen backlog
        REQUIRE(clients.back().connected());
        REQUIRE(clients.back().send_all(request));
    }
    // A client is served once its 200 has arrived; the connection then stays open (keep-alive).
    auto answered = [&](t::Connection& c) {
        char buf[512];
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 200", 0) == 0;
    };
    usleep(1000 * 1000);
    std::vector<int> served, waiting;
    for (int i = 0; i < kClients; ++i) (answered(clients[i]) ? served : waiting).push_back(i);
    INFO("served " << served.size() << ", waiting " << waiting.size() << " of " << kClients);
    REQUIRE(served.size() >= 10);
    REQUIRE(waiting.size() >= 10);   // otherwise the limit was never reached and this proves nothing

    // Out of descriptors with clients waiting: skjold retries accept every 100 ms, it does not spin.
    const auto before = t::process_cpu(lb.pid());
    usleep(2000 * 1000);
    const auto after = t::process_cpu(lb.pid());
    const double cpu = static_cast<double>((after - before).count()) / 2000.0;
    MESSAGE("CPU use while out of descriptors: " << cpu * 100 << " % (" << served.size() << " clients in, "
                                                 << waiting.size() << " waiting)");
    CHECK(cpu < 0.25);
    CHECK(lb.log().find("Too many open files") != std::string::npos);

    // Connections close: accept resumes and every waiting client is served.
    for (int i : served) clients[i].close();
    std::vector<int> still = waiting;
    for (auto end = Clock::now() + 10s; !still.empty() && Clock::now() < end;) {
        std::erase_if(still, [&](int i) { return answered(clients[i]); });
        usleep(20 * 1000);
    }
    INFO("never served after the others closed: " << still.size());
    CHECK(still.empty());
    // The process is whole: a new client is served at once.
    for (int i : waiting) clients[i].close();
    auto r = t::fetch(lb.listener("fe"), request);
    CHECK(r.status == 200);
    CHECK(lb.stop() == 0);
}

// ---------------------------------------------------------------------------------------------
// Slowloris

TEST_CASE("5000 slowloris connections are answered 408 while a normal client keeps being served") {
    int conns = t::env_int("SKJOLD_SLOWLORIS_CONNS", 5000);
    const double p99_bound_ms = t::env_int("SKJOLD_SLOWLORIS_P99_MS", 500);
    // The test's own descriptors: one per slow connection, and skjold inherits the limit.
    rlimit rl{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < static_cast<rlim_t>(conns + 256)) {
        // This test process holds one descriptor per slow connection (skjold, which inherits the
        // limit, one too): scaled down rather than not run.
        conns = static_cast<int>(rl.rlim_cur) - 256;
        MESSAGE("descriptor limit " << rl.rlim_cur << ": only " << conns << " slow connections");
        REQUIRE(conns >= 500);
    }
    t::Tempdir dir;
    t::HttpBackend app("app");
    auto lb = t::start_with_config(dir, http_config("    nbthread 1\n", "    timeout http-request 3s\n", app.addr()));
    const auto at = lb.listener("fe");

    // The normal client: keep-alive GETs, one every few ms, latency of each.
    std::atomic<bool> attack_over{false};
    std::vector<double> lat_ms;
    int normal_failures = 0;
    std::string first_failure;
    std::thread normal([&] {
        auto c = t::HttpClient::open(at);
        while (!attack_over.load()) {
            auto start = Clock::now();
            auto r = c.roundtrip(t::http_get("/"), false, 5s);
            lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
            if (r.status != 200 || r.body != "app") {
                if (++normal_failures == 1) first_failure = r.error + " status " + std::to_string(r.status);
                c = t::HttpClient::open(at);
            }
            usleep(5 * 1000);
        }
    });

    t::SlowlorisResult res = t::slowloris(at, conns, 12s);
    attack_over.store(true);
    normal.join();

    std::sort(lat_ms.begin(), lat_ms.end());
    const double p99 = lat_ms.empty() ? 1e9 : lat_ms[std::min(lat_ms.size() - 1, lat_ms.size() * 99 / 100)];
    const double p50 = lat_ms.empty() ? 1e9 : lat_ms[lat_ms.size() / 2];
    MESSAGE("slowloris: " << conns << " connections, " << res.connected << " connected, " << res.got_408
                          << " answered 408, " << res.closed << " closed by skjold, last closed after "
                          << res.last_close.count() << " ms; normal client: " << lat_ms.size()
                          << " requests, p50 " << p50 << " ms, p99 " << p99 << " ms");
    INFO("first normal failure: " << first_failure);
    CHECK(res.connected == conns);
    CHECK(res.closed == conns);              // timeout http-request ended every one of them
    CHECK(res.got_408 >= conns * 99 / 100);  // ... with a 408 (a close racing our last byte may reset)
    CHECK(res.last_close < 9s);
    CHECK(normal_failures == 0);
    CHECK(lat_ms.size() >= 100);
    CHECK(p99 < p99_bound_ms);
    CHECK(lb.stop() == 0);
}

// ---------------------------------------------------------------------------------------------
// Servers that misbehave

TEST_CASE("a server sending an endless body: the client gets data, memory stays bounded, the session ends with the client") {
    t::EndlessServer endless(t::EndlessServer::Mode::endless);
    t::Tempdir dir;
    auto lb = t::start_with_config(dir, http_config("    nbthread 1\n", "", endless.address().to_string()));
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    REQUIRE(c.send_all(t::http_get("/endless")));
    auto got = c.recv_n(4 << 20, 10s);
    REQUIRE(got.data.size() == static_cast<std::size_t>(4 << 20));
    CHECK(got.data.rfind("HTTP/1.1 200", 0) == 0);

    // The client stops reading: the server is held back (skjold reads no further than its high
    // water mark), so neither the server's output nor skjold's memory grows.
    const long rss_before = t::process_rss_kb(lb.pid());
    const std::uint64_t sent_before = endless.bytes_sent();
    usleep(1000 * 1000);
    const std::uint64_t sent_during = endless.bytes_sent() - sent_before;
    const long rss_after = t::process_rss_kb(lb.pid());
    MESSAGE("endless body, client not reading for 1 s: server sent " << sent_during << " bytes, skjold RSS "
                                                                     << rss_before << " -> " << rss_after << " kB");
    CHECK(sent_during < (16u << 20));
    CHECK(rss_after - rss_before < 16 * 1024);

    // Reading again: data flows again.
    CHECK(c.recv_n(1 << 20, 10s).data.size() == static_cast<std::size_t>(1 << 20));
    // The client leaves: skjold closes the server side (its writes start failing).
    auto closed_at = Clock::now();
    c.close();
    CHECK(endless.wait_ended(3s));
    MESSAGE("server connection closed " << since(closed_at).count() << " ms after the client left");
    CHECK(lb.stop() == 0);
}

TEST_CASE("an endless body to a client that stops reading ends at timeout client") {
    t::EndlessServer endless(t::EndlessServer::Mode::endless);
    t::Tempdir dir;
    auto lb = t::start_with_config(dir, http_config("    nbthread 1\n", "    timeout client 500ms\n",
                                                    endless.address().to_string()));
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    REQUIRE(c.send_all(t::http_get("/endless")));
    REQUIRE(c.recv_n(1 << 20, 10s).data.size() == static_cast<std::size_t>(1 << 20));
    // From here on nothing is read: the session must not live on.
    auto start = Clock::now();
    CHECK(endless.wait_ended(5s));
    MESSAGE("server connection closed " << since(start).count() << " ms after the client stopped reading");
    CHECK(since(start) < 4s);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server that resets mid-body: the client sees the connection end, no hang") {
    t::EndlessServer reset(t::EndlessServer::Mode::reset_mid_body);
    t::Tempdir dir;
    auto lb = t::start_with_config(dir, http_config("    nbthread 1\n", "", reset.address().to_string()));
    for (int round = 0; round < 3; ++round) {
        auto c = t::Connection::open(lb.listener("fe"));
        REQUIRE(c.connected());
        REQUIRE(c.send_all(t::http_get("/reset")));
        auto got = c.recv_all(5s);
        INFO("round " << round << ": " << got.data.size() << " bytes, ended by " << got.end << " after "
                      << got.elapsed.count() << " ms");
        CHECK(got.end != End::timeout);
        CHECK(got.data.rfind("HTTP/1.1 200", 0) == 0);                        // the response had started
        CHECK(got.data.size() < t::EndlessServer::kResetLength);               // ... and was cut short
        CHECK(got.elapsed < 3s);
    }
    CHECK(lb.running());
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server answering garbage gets the client a 502, and the next request is served") {
    t::HttpBackend odd([](const t::SeenRequest& r) {
        if (r.path() == "/binary") return t::Reply::raw_bytes(t::random_bytes(3000, 7));
        if (r.path() == "/text") return t::Reply::raw_bytes("this is not HTTP at all\r\n\r\n");
        if (r.path() == "/status") return t::Reply::raw_bytes("HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n");
        if (r.path() == "/header") return t::Reply::raw_bytes("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n");
        return t::Reply::text("fine");
    });
    t::Tempdir dir;
    auto lb = t::start_with_config(dir, http_config("    nbthread 1\n", "", odd.addr()));
    for (const char* path : {"/binary", "/text", "/status", "/header"}) {
        auto r = t::fetch(lb.listener("fe"), t::http_get(path));
        INFO(path << ": " << r);
        CHECK(r.status == 502);
        auto ok = t::fetch(lb.listener("fe"), t::http_get("/fine"));
        CHECK(ok.status == 200);
        CHECK(ok.body == "fine");
    }
    CHECK(lb.stop() == 0);
}
