// Server maxconn and the backend queue (issue 8, limits): a full server is not given more
// sessions; they wait in the backend's queue, first come first served, until a slot frees or
// `timeout queue` expires (503 in mode http, a close in mode tcp); `show stat` reports the queue
// (qcur, qmax, qtime on the BACKEND row).
#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"
#include "stats_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = t::Received::End;

namespace {

std::string queue_config(const t::Tempdir& dir, std::string_view defaults, std::string_view backend_lines,
                         const std::string& server, std::string_view extra_global = {}) {
    return t::fill("global\n"
                   "    nbthread 1\n"
                   "    stats socket ${DIR}/admin.sock level admin\n",
                   {{"DIR", dir.path().string()}}) +
           std::string(extra_global) + std::string(defaults) +
           t::fill("frontend fe\n"
                   "    bind 127.0.0.1:0\n"
                   "    default_backend be\n"
                   "backend be\n"
                   "${LINES}"
                   "    server s1 ${S} maxconn 1\n",
                   {{"LINES", std::string(backend_lines)}, {"S", server}});
}

std::string backend_field(const t::Tempdir& dir, std::string_view sv, std::string_view field) {
    return t::parse_stat(t::stats_command(dir / "admin.sock", "show stat")).get("be", sv, field);
}

long as_long(const std::string& s) { return s.empty() ? -1 : std::stol(s); }

// mode tcp: skjold in front of `echo` (server maxconn 1) with `timeout queue` set to `timeout`.
t::Skjold start_tcp_queue(const t::Tempdir& dir, const t::TcpEchoServer& echo, std::string_view timeout) {
    return t::start_with_config(dir, queue_config(dir, t::kTcpDefaults, "    timeout queue " + std::string(timeout) + "\n",
                                                  echo.address().to_string()));
}

// A server's answer that keeps its slot (maxconn 1) for 1.5 s.
t::Reply held(const t::SeenRequest&) {
    auto r = t::Reply::text("held");
    r.delay = 1500ms;
    return r;
}

// In mode http, with `holder` answering held(): /first, sent on a thread, takes the only slot;
// once it arrived, /second is sent and timed until its answer. Returns once both are answered.
struct BehindHeld {
    t::HttpResponse first, second;
    std::chrono::milliseconds waited{};
};
BehindHeld request_behind_held(const t::Address& at, const t::HttpBackend& holder) {
    BehindHeld b;
    std::thread a([&] { b.first = t::fetch(at, t::http_get("/first"), {}, {}, 5s); });
    REQUIRE(holder.wait_requests(1, 3s));
    auto start = Clock::now();
    b.second = t::fetch(at, t::http_get("/second"), {}, {}, 5s);
    b.waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    a.join();
    return b;
}

// A client connection to `at` that has sent `data` (the test stops if it cannot).
t::Connection open_and_send(const t::Address& at, std::string_view data) {
    auto c = t::Connection::open(at);
    REQUIRE(c.connected());
    REQUIRE(c.send_all(data));
    return c;
}

// The line of skjold's log (stdout) that contains `needle`, waiting up to 5 s for it.
std::string log_line(const t::Skjold& lb, std::string_view needle) {
    for (int i = 0; i < 100; ++i) {
        auto log = lb.log();
        auto at = log.find(needle);
        if (at != std::string::npos) {
            auto from = log.rfind('\n', at);
            from = from == std::string::npos ? 0 : from + 1;
            return log.substr(from, log.find('\n', at) - from);
        }
        usleep(50 * 1000);
    }
    return {};
}

// Polls `show stat` until the BACKEND row's qcur is at least `n`; the largest value seen.
long wait_qcur(const t::Tempdir& dir, long n, std::chrono::milliseconds timeout) {
    long best = -1;
    for (auto end = Clock::now() + timeout; Clock::now() < end;) {
        best = std::max(best, as_long(backend_field(dir, "BACKEND", "qcur")));
        if (best >= n) break;
        usleep(20 * 1000);
    }
    return best;
}

}  // namespace

TEST_SUITE_BEGIN("queue");

TEST_CASE("with server maxconn 1, concurrent requests wait in the queue and are served one after another") {
    t::Tempdir dir;
    std::mutex m;
    std::vector<Clock::time_point> arrivals;
    t::HttpBackend slow([&](const t::SeenRequest&) {
        {
            std::lock_guard<std::mutex> g(m);
            arrivals.push_back(Clock::now());
        }
        auto r = t::Reply::text("ok");
        r.delay = 150ms;
        return r;
    });
    auto lb = t::start_with_config(dir, queue_config(dir, t::kHttpDefaults, "    timeout queue 10s\n", slow.addr()));
    const auto at = lb.listener("fe");

    constexpr int kClients = 5;
    std::vector<t::HttpResponse> got(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i)
        clients.emplace_back([&, i] { got[i] = t::fetch(at, t::http_get("/q" + std::to_string(i)), {}, {}, 10s); });
    // While they wait, the stats socket sees them queued.
    long qcur = wait_qcur(dir, 2, 3s);
    for (auto& c : clients) c.join();
    INFO("qcur seen while waiting: " << qcur);
    CHECK(qcur >= 2);

    for (int i = 0; i < kClients; ++i) {
        INFO("client " << i << ": " << got[i]);
        CHECK(got[i].status == 200);
        CHECK(got[i].body == "ok");
    }
    // One at a time: each request reached the server only after the previous one was answered.
    std::lock_guard<std::mutex> g(m);
    REQUIRE(arrivals.size() == kClients);
    for (std::size_t i = 1; i < arrivals.size(); ++i) {
        auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(arrivals[i] - arrivals[i - 1]);
        INFO("request " << i << " arrived " << gap.count() << " ms after the previous one");
        CHECK(gap >= 140ms);
    }
    CHECK(as_long(backend_field(dir, "BACKEND", "qcur")) == 0);
    CHECK(as_long(backend_field(dir, "BACKEND", "qmax")) >= 2);
    CHECK(as_long(backend_field(dir, "BACKEND", "qtime")) > 0);
    CHECK(as_long(backend_field(dir, "s1", "smax")) == 1);
    CHECK(backend_field(dir, "s1", "slim") == "1");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a request that waits longer than timeout queue gets a 503") {
    t::Tempdir dir;
    t::HttpBackend holder(held);
    auto lb = t::start_with_config(
        dir, queue_config(dir, std::string(t::kHttpDefaults) + "    log global\n    option httplog\n",
                          "    timeout queue 200ms\n", holder.addr(), "    log stdout format raw local0\n"));
    auto q = request_behind_held(lb.listener("fe"), holder);
    INFO("second: " << q.second << " after " << q.waited.count() << " ms");
    CHECK(q.second.status == 503);
    CHECK(q.waited >= 150ms);
    CHECK(q.waited < 1200ms);   // well before the slot frees
    CHECK(q.first.status == 200);
    CHECK(q.first.body == "held");
    CHECK(holder.requests() == 1);   // the queued request never reached the server
    // The access log says why: termination state sQ (server-side timeout while queued), status 503.
    const std::string line = log_line(lb, "GET /second");
    INFO("log line: " << line);
    CHECK(line.find(" 503 ") != std::string::npos);
    CHECK(line.find(" sQ") != std::string::npos);
    CHECK(as_long(backend_field(dir, "BACKEND", "econ")) == 1);   // HAProxy counts it there
    CHECK(as_long(backend_field(dir, "BACKEND", "qcur")) == 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("timeout queue defaults to timeout connect") {
    t::Tempdir dir;
    t::HttpBackend holder(held);
    std::string defaults = "defaults\n"
                           "    mode http\n"
                           "    timeout connect 300ms\n"
                           "    timeout client 10s\n"
                           "    timeout server 10s\n";
    auto lb = t::start_with_config(dir, queue_config(dir, defaults, "", holder.addr()));
    auto q = request_behind_held(lb.listener("fe"), holder);
    INFO("second: " << q.second << " after " << q.waited.count() << " ms");
    CHECK(q.second.status == 503);
    CHECK(q.waited >= 250ms);
    CHECK(q.waited < 1200ms);
    CHECK(lb.stop() == 0);
}

TEST_CASE("in mode tcp a queued connection is closed when timeout queue expires") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = start_tcp_queue(dir, echo, "200ms");
    auto first = open_and_send(lb.listener("fe"), "a");
    REQUIRE(first.recv_n(1, 2s).data == "a");   // holds the only slot

    auto second = open_and_send(lb.listener("fe"), "b");
    auto got = second.recv_all(3s);
    INFO("second ended by " << got.end << " after " << got.elapsed.count() << " ms");
    CHECK(got.data.empty());
    CHECK(got.end != End::timeout);
    CHECK(got.elapsed >= 150ms);
    CHECK(got.elapsed < 1200ms);
    CHECK(echo.accepted() == 1);
    // The first session is untouched.
    REQUIRE(first.send_all("c"));
    CHECK(first.recv_n(1, 2s).data == "c");
    CHECK(lb.stop() == 0);
}

TEST_CASE("in mode tcp queued connections get the freed slot in the order they arrived") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = start_tcp_queue(dir, echo, "10s");
    auto a = open_and_send(lb.listener("fe"), "a");
    REQUIRE(a.recv_n(1, 2s).data == "a");
    auto b = open_and_send(lb.listener("fe"), "b");
    CHECK(wait_qcur(dir, 1, 2s) == 1);
    auto c = open_and_send(lb.listener("fe"), "c");
    CHECK(wait_qcur(dir, 2, 2s) == 2);
    CHECK(b.recv_n(1, 300ms).end == End::timeout);
    CHECK(echo.accepted() == 1);

    a.close();   // frees the slot: b (first in line) gets it, c still waits
    CHECK(b.recv_n(1, 2s).data == "b");
    CHECK(c.recv_n(1, 300ms).end == End::timeout);
    CHECK(as_long(backend_field(dir, "BACKEND", "qcur")) == 1);
    b.close();
    CHECK(c.recv_n(1, 2s).data == "c");
    CHECK(as_long(backend_field(dir, "BACKEND", "qcur")) == 0);
    CHECK(as_long(backend_field(dir, "BACKEND", "qmax")) == 2);
    CHECK(echo.peak_connections() == 1);
    CHECK(lb.stop() == 0);
}
