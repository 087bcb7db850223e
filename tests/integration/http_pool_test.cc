// Server connections (issue 3, Proxying): the per-worker idle pool and `http-reuse`, servers that
// close pooled connections, `option http-server-close` / `option httpclose`, and
// `timeout http-keep-alive` on the client side.
#include <doctest/doctest.h>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

// `n` requests, each on its own new client connection (closed after its response); returns how
// many got 200 with the backend's name, and prints the first few failures.
int one_request_per_connection(const t::Address& at, int n, std::string_view want_body,
                               std::chrono::milliseconds pause = 0ms) {
    int good = 0, shown = 0;
    for (int i = 0; i < n; ++i) {
        auto r = t::fetch(at, t::http_get("/n" + std::to_string(i)));
        if (r.status == 200 && r.body == want_body) {
            ++good;
        } else if (shown++ < 3) {
            MESSAGE("request " << i << " on a new client connection: " << r);
        }
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    return good;
}

// `n` requests on one keep-alive client connection; how many got 200 with `want_body`.
int requests_on_one_connection(const t::Address& at, int n, std::string_view want_body,
                               std::chrono::milliseconds pause = 0ms) {
    auto c = t::HttpClient::open(at);
    int good = 0, shown = 0;
    for (int i = 0; i < n; ++i) {
        auto r = c.roundtrip(t::http_get("/k" + std::to_string(i)));
        if (r.status == 200 && r.body == want_body) {
            ++good;
        } else if (shown++ < 3) {
            MESSAGE("request " << i << " on a keep-alive client connection: " << r);
        }
        if (!r.ok()) break;
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    return good;
}

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("http-reuse safe (default): 1000 requests on 20 client connections need at most 20 server connections") {
    t::Tempdir dir;
    t::HttpBackend be("pooled");
    auto lb = t::start_with_config(dir, t::http_listen_config(be, {}, 2));
    int good = 0;
    for (int client = 0; client < 20; ++client) good += requests_on_one_connection(lb.listener("fe"), 50, "pooled");
    CHECK(good == 1000);
    CHECK(be.requests() == 1000);
    // `safe` sends the first request of each client connection over a connection of its own and
    // may reuse for the rest: at most one new server connection per client connection.
    INFO("server connections: " << be.accepted());
    CHECK(be.accepted() <= 20);
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-reuse always: 1000 one-request client connections share at most 2 server connections per worker") {
    t::Tempdir dir;
    t::HttpBackend be("pooled");
    const int workers = 2;
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    http-reuse always\n", workers));
    CHECK(one_request_per_connection(lb.listener("fe"), 1000, "pooled") == 1000);
    CHECK(be.requests() == 1000);
    // The bound: requests are sequential, so each worker needs one server connection at a time,
    // from its own pool (pools are per worker). One more per worker covers a new request reaching
    // the worker in the instant before the previous response's connection is back in the pool.
    // Without a pool this would be 1000.
    INFO("server connections: " << be.accepted());
    CHECK(be.accepted() <= 2 * workers);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server that answers Connection: close and closes fails no request") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("closing");
        r.close = true;
        return r;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    http-reuse always\n", 1));
    CHECK(one_request_per_connection(lb.listener("fe"), 100, "closing") == 100);
    CHECK(requests_on_one_connection(lb.listener("fe"), 100, "closing") == 100);
    CHECK(be.requests() == 200);
    CHECK(be.accepted() == 200);  // never a request on a connection the server said it closes
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server that silently closes pooled connections after each response fails no request") {
    t::Tempdir dir;
    // No `Connection: close`: the proxy pools the connection and finds it closed when it next wants
    // it (or sends on it first and must retry this idempotent request on a fresh connection).
    // [issue 3 is stricter than HAProxy 2.6 here: when a keep-alive client's next request meets a
    // server connection that turns out closed, HAProxy closes the client connection without an
    // answer and leaves the retry to the client (RFC 9112 9.3.1 allows that); skjold must retry.]
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("gone after this");
        r.silent_close = true;
        return r;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    http-reuse always\n    retries 3\n", 1));
    CHECK(one_request_per_connection(lb.listener("fe"), 100, "gone after this") == 100);
    CHECK(requests_on_one_connection(lb.listener("fe"), 100, "gone after this") == 100);
    // With a pause, the close has certainly reached the proxy before the next request.
    CHECK(one_request_per_connection(lb.listener("fe"), 20, "gone after this", 20ms) == 20);
    CHECK(requests_on_one_connection(lb.listener("fe"), 20, "gone after this", 20ms) == 20);
    CHECK(be.requests() == 240);
    CHECK(lb.stop() == 0);
}

TEST_CASE("option http-server-close keeps the client connection and closes the server one after each response") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_path);
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    option http-server-close\n"));
    auto c = t::HttpClient::open(lb.listener("fe"));
    for (int i = 0; i < 5; ++i) {
        auto r = c.roundtrip(t::http_get("/s" + std::to_string(i)));
        INFO(r);
        CHECK(r.status == 200);
        CHECK_FALSE(r.has_token("Connection", "close"));
    }
    CHECK(be.requests() == 5);
    CHECK(be.accepted() == 5);                     // a new server connection per request
    CHECK(c.wait_close(200ms).end == End::timeout);  // while the client keeps its one
    CHECK(lb.stop() == 0);
}

TEST_CASE("option httpclose closes both sides after each response, saying Connection: close") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_path);
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    option httpclose\n"));
    for (int i = 0; i < 3; ++i) {
        auto c = t::HttpClient::open(lb.listener("fe"));
        auto r = c.roundtrip(t::http_get("/c"));
        INFO(r);
        CHECK(r.status == 200);
        CHECK(r.has_token("Connection", "close"));  // HAProxy adds it in each direction when missing
        CHECK(c.wait_close(2s).end == End::eof);
    }
    CHECK(be.requests() == 3);
    CHECK(be.accepted() == 3);
    for (const auto& s : be.seen()) CHECK(s.head.has_token("Connection", "close"));
    CHECK(lb.stop() == 0);
}

TEST_CASE("timeout http-keep-alive closes an idle client connection, and only an idle one") {
    t::Tempdir dir;
    t::HttpBackend be("alive");
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    timeout http-keep-alive 400ms\n"));
    auto c = t::HttpClient::open(lb.listener("fe"));
    CHECK(c.roundtrip(t::http_get("/1")).status == 200);
    std::this_thread::sleep_for(150ms);  // idle, but within the keep-alive timeout
    CHECK(c.roundtrip(t::http_get("/2")).status == 200);
    auto end = c.wait_close(3s);
    INFO("closed after " << end.elapsed.count() << " ms, by " << end.end);
    CHECK(end.end == End::eof);
    CHECK(end.data.empty());                 // closed without a 408: nothing had been asked
    CHECK(end.elapsed >= 300ms);
    CHECK(end.elapsed <= 2s);
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-reuse never: no sharing between client connections, yet a keep-alive client keeps its own") {
    t::Tempdir dir;
    t::HttpBackend be("private");
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    http-reuse never\n", 1));
    CHECK(one_request_per_connection(lb.listener("fe"), 20, "private") == 20);
    CHECK(be.accepted() == 20);
    CHECK(requests_on_one_connection(lb.listener("fe"), 20, "private") == 20);
    CHECK(be.accepted() == 21);
    CHECK(lb.stop() == 0);
}

TEST_CASE("retries and option redispatch: a refused connection is retried on another server") {
    t::Tempdir dir;
    t::HttpBackend alive("alive");
    auto dead = t::dead_address();
    auto lb = t::start_with_config(dir, t::http_listen_config(alive,
                                                              t::fill("    balance roundrobin\n"
                                                                      "    retries 2\n"
                                                                      "    option redispatch\n"
                                                                      "    server dead ${DEAD}\n",
                                                                      {{"DEAD", dead.to_string()}}),
                                                              1));
    CHECK(one_request_per_connection(lb.listener("fe"), 10, "alive") == 10);
    CHECK(alive.requests() == 10);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
