// The Checker against real sockets on 127.0.0.1: in-process servers on their own threads,
// configurations through the real parser, short intervals, every wait bounded.
#include "health/checker.hh"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "checker_fixture.hh"

using namespace skjold;
using health::CheckStatus;
using health::Checker;
using health::Health;
using health::ServerStateTable;

using namespace skjold::health_test;

TEST_CASE("a server that accepts stays UP, fully UP after its first check, checked every inter") {
    TestServer srv(TestServer::Mode::accept);
    auto snap = load("backend be\n  server web01 " + addr(srv.port()) + " check inter 40ms rise 2 fall 3\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    REQUIRE(checker.checked_servers() == 1);
    checker.start();
    CHECK(wait_until([&] { return srv.accepted() >= 5; }, 2000));
    checker.stop();
    const auto& s = table.find_backend("be")->server(0);
    CHECK(s.health() == Health::up);
    CHECK(s.health_counter() == 4);   // rise + fall - 1
    const auto* st = checker.stats(0, 0);
    REQUIRE(st != nullptr);
    CHECK(st->status() == CheckStatus::l4ok);
    CHECK(st->failed_checks() == 0);
    CHECK(log.snapshot().empty());
    // inter 40ms between checks (with a generous bound for a loaded machine).
    auto t = srv.accept_times();
    REQUIRE(t.size() >= 5);
    for (std::size_t i = 2; i < t.size(); ++i) {
        CHECK(t[i] - t[i - 1] >= 30);
        CHECK(t[i] - t[i - 1] <= 200);
    }
}

TEST_CASE("a closed port takes a server DOWN after ONE failed check, logged as HAProxy does") {
    const std::uint16_t port = closed_port();
    TestServer backup(TestServer::Mode::accept);
    auto snap = load("backend primary\n"
                     "  server web01 " + addr(port) + " check inter 2s\n"
                     "  server dr01 " + addr(backup.port()) + " check inter 2s backup\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    const std::uint64_t t0 = core::monotonic_ms();
    checker.start();
    const auto& s = table.find_backend("primary")->server(0);
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 1500));
    CHECK(core::monotonic_ms() - t0 < 1000);   // one check, not fall (3) x inter (2s)
    const auto* st = checker.stats(0, 0);
    CHECK(st->checks() == 1);
    CHECK(st->status() == CheckStatus::l4con);
    CHECK(st->down_transitions() == 1);
    char desc[health::kCheckDescMax + 1];
    CHECK(std::string(desc, st->description(desc)) == "Connection refused");
    checker.stop();
    auto lines = log.snapshot();
    REQUIRE(!lines.empty());
    CHECK(lines[0].first == core::Level::alert);
    CHECK(log.texts()[0] ==
          "Server primary/web01 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", "
          "check duration: Xms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, "
          "0 requeued, 0 remaining in queue.");
}

TEST_CASE("the last server going DOWN announces that the backend has no server available") {
    auto snap = load("backend primary\n  server web01 " + addr(closed_port()) + " check inter 2s\n"
                     "listen lst\n  bind 127.0.0.1:0\n  server l1 " + addr(closed_port()) + " check inter 2s\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    REQUIRE(wait_until([&] { return log.snapshot().size() >= 4; }, 3000));
    checker.stop();
    auto lines = log.snapshot();
    std::vector<std::string> emerg;
    for (auto& [lvl, s] : lines)
        if (lvl == core::Level::emerg) emerg.push_back(s);
    REQUIRE(emerg.size() == 2);
    CHECK(std::find(emerg.begin(), emerg.end(), "backend primary has no server available!") != emerg.end());
    CHECK(std::find(emerg.begin(), emerg.end(), "proxy lst has no server available!") != emerg.end());
    // Each line is handed over with its proxy, so it can go to that proxy's log targets.
    CHECK(log.proxy_of("backend primary has no server available!") == snap->find_proxy("primary"));
    CHECK(log.proxy_of("proxy lst has no server available!") == snap->find_proxy("lst"));
}

TEST_CASE("a server coming back is UP after rise successes, checked at fastinter in transition") {
    const std::uint16_t port = closed_port();
    auto snap = load("backend be\n  server web01 " + addr(port) +
                     " check inter 2s fastinter 40ms downinter 100ms rise 3 fall 2\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    const auto& s = table.find_backend("be")->server(0);
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 1000));

    TestServer srv(TestServer::Mode::accept, {}, port);
    const std::uint64_t back = core::monotonic_ms();
    REQUIRE(wait_until([&] { return s.health() == Health::up; }, 3000));
    const std::uint64_t up_after = core::monotonic_ms() - back;
    // downinter (100ms) to the first success, then 2 x fastinter (40ms): far below 3 x inter (6s).
    CHECK(up_after < 600);
    CHECK(s.health_counter() == 4);   // rise + fall - 1
    // connect() completes before the server thread gets to accept(): let it catch up.
    REQUIRE(wait_until([&] { return srv.accepted() >= 3; }, 1000));
    auto t = srv.accept_times();
    for (std::size_t i = 1; i < 3; ++i) {
        CHECK(t[i] - t[i - 1] >= 30);
        CHECK(t[i] - t[i - 1] < 150);
    }
    checker.stop();
    auto texts = log.texts();
    REQUIRE(texts.size() == 3);   // DOWN, no server available, UP
    CHECK(texts[1] == "backend be has no server available!");
    CHECK(texts[2] == "Server be/web01 is UP, reason: Layer4 check passed, check duration: Xms. "
                      "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
    CHECK(log.snapshot()[2].first == core::Level::notice);
}

TEST_CASE("an HTTP server answering 503 goes DOWN with L7STS; the request is HAProxy's default") {
    TestServer srv(TestServer::Mode::http, http_response("503 Service Unavailable", "down"));
    auto snap = load("backend primary\n  option httpchk\n  server web01 " + addr(srv.port()) + " check inter 2s\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    const auto& s = table.find_backend("primary")->server(0);
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 1500));
    checker.stop();
    const auto* st = checker.stats(0, 0);
    CHECK(st->status() == CheckStatus::l7sts);
    CHECK(st->code() == 503);
    CHECK(srv.last_request() == "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n");
    REQUIRE(!log.texts().empty());
    CHECK(log.texts()[0] ==
          "Server primary/web01 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", "
          "check duration: Xms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, "
          "0 remaining in queue.");
}

TEST_CASE("an HTTP server answering 200 is L7OK and fully UP; send hdr and the URI go out") {
    TestServer srv(TestServer::Mode::http, http_response("200 OK", "fine"));
    auto snap = load("backend be\n  option httpchk GET /healthz HTTP/1.1\n"
                     "  http-check send hdr Host app.example\n"
                     "  server web01 " + addr(srv.port()) + " check inter 30ms\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    const auto* st = checker.stats(0, 0);
    REQUIRE(wait_until([&] { return st->checks() >= 2; }, 2000));
    checker.stop();
    CHECK(st->status() == CheckStatus::l7ok);
    CHECK(st->code() == 200);
    CHECK(table.find_backend("be")->server(0).health_counter() == 4);
    CHECK(srv.last_request() == "GET /healthz HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http-check expect status 204: a 200 is a wrong status, a 204 passes") {
    TestServer ok(TestServer::Mode::http, http_response("204 No Content"));
    TestServer wrong(TestServer::Mode::http, http_response("200 OK", "x"));
    auto snap = load("backend be\n  option httpchk GET /\n  http-check expect status 204\n"
                     "  server a " + addr(ok.port()) + " check inter 30ms\n"
                     "  server b " + addr(wrong.port()) + " check inter 30ms\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    const auto& b = *table.find_backend("be");
    REQUIRE(wait_until([&] { return b.server(1).health() == Health::down && checker.stats(0, 0)->checks() >= 2; }, 2000));
    checker.stop();
    CHECK(b.server(0).health() == Health::up);
    CHECK(checker.stats(0, 0)->status() == CheckStatus::l7ok);
    CHECK(checker.stats(0, 1)->status() == CheckStatus::l7sts);
    CHECK(checker.stats(0, 1)->code() == 200);
}

TEST_CASE("http-check expect string OK: found in the body passes, missing is L7RSP") {
    TestServer ok(TestServer::Mode::http, http_response("200 OK", "status: OK"));
    TestServer bad(TestServer::Mode::http, http_response("200 OK", "status: FAIL"));
    auto snap = load("backend be\n  option httpchk GET /status\n  http-check expect string OK\n"
                     "  server a " + addr(ok.port()) + " check inter 30ms\n"
                     "  server b " + addr(bad.port()) + " check inter 30ms\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    const auto& b = *table.find_backend("be");
    REQUIRE(wait_until([&] { return b.server(1).health() == Health::down && checker.stats(0, 0)->checks() >= 2; }, 2000));
    checker.stop();
    CHECK(b.server(0).health() == Health::up);
    CHECK(checker.stats(0, 1)->status() == CheckStatus::l7rsp);
    auto texts = log.texts();
    REQUIRE(!texts.empty());
    CHECK(texts[0] == "Server be/b is DOWN, reason: Layer7 invalid response, info: \"HTTP content check did not "
                      "match\", check duration: Xms. 1 active and 0 backup servers left. 0 sessions active, "
                      "0 requeued, 0 remaining in queue.");
}

TEST_CASE("a silent server is an L7TOUT after timeout check, and the checker never hangs on it") {
    TestServer srv(TestServer::Mode::silent);
    auto snap = load("backend be\n  option httpchk\n  timeout check 150ms\n  timeout connect 1s\n"
                     "  server web01 " + addr(srv.port()) + " check inter 3s\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    const std::uint64_t t0 = core::monotonic_ms();
    checker.start();
    const auto& s = table.find_backend("be")->server(0);
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 2000));
    const std::uint64_t took = core::monotonic_ms() - t0;
    CHECK(took >= 140);
    CHECK(took < 1000);   // timeout check, not inter (3s)
    const auto* st = checker.stats(0, 0);
    CHECK(st->status() == CheckStatus::l7tout);
    CHECK(st->duration_ms() >= 140);
    CHECK(st->duration_ms() < 1000);
    checker.stop();
    REQUIRE(!log.texts().empty());
    CHECK(log.texts()[0] == "Server be/web01 is DOWN, reason: Layer7 timeout, check duration: Xms. "
                            "0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
}

TEST_CASE("without timeout check, inter bounds the whole check") {
    TestServer srv(TestServer::Mode::silent);
    auto snap = load("backend be\n  option httpchk\n  server web01 " + addr(srv.port()) + " check inter 120ms\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    const auto* st = checker.stats(0, 0);
    REQUIRE(wait_until([&] { return st->checks() >= 1; }, 2000));
    checker.stop();
    CHECK(st->status() == CheckStatus::l7tout);
    CHECK(st->duration_ms() >= 110);
    CHECK(st->duration_ms() < 600);
}

TEST_CASE("stop() returns promptly while a check waits on a silent server") {
    TestServer srv(TestServer::Mode::silent);
    auto snap = load("backend be\n  option httpchk\n  server web01 " + addr(srv.port()) + " check inter 10s\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    REQUIRE(wait_until([&] { return srv.accepted() >= 1; }, 2000));   // the check is in flight
    const std::uint64_t t0 = core::monotonic_ms();
    checker.stop();
    CHECK(core::monotonic_ms() - t0 < 200);
    CHECK(checker.stats(0, 0)->checks() == 0);   // abandoned, not judged
    CHECK(table.find_backend("be")->server(0).health() == Health::up);
}

TEST_CASE("option log-health-checks logs every result change, and the transition without reason") {
    auto snap = load("backend q\n  option log-health-checks\n  server tcp2 " + addr(closed_port()) +
                     " check inter 30ms rise 2 fall 3\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    REQUIRE(wait_until([&] { return checker.stats(0, 0)->checks() >= 4; }, 2000));
    checker.stop();
    auto texts = log.texts();
    // The repeated failures at counter 0 change nothing and are not logged again.
    REQUIRE(texts.size() == 3);
    CHECK(texts[0] == "Health check for server q/tcp2 failed, reason: Layer4 connection problem, info: "
                      "\"Connection refused\", check duration: Xms, status: 0/2 DOWN.");
    CHECK(texts[1] == "Server q/tcp2 is DOWN. 0 active and 0 backup servers left. 0 sessions active, "
                      "0 requeued, 0 remaining in queue.");
    CHECK(texts[2] == "backend q has no server available!");
}

TEST_CASE("checks of many servers start spread over the interval, not in the same millisecond") {
    TestServer a(TestServer::Mode::accept), b(TestServer::Mode::accept), c(TestServer::Mode::accept),
        d(TestServer::Mode::accept);
    auto snap = load("backend be\n"
                     "  server a " + addr(a.port()) + " check inter 400ms fall 1\n"
                     "  server b " + addr(b.port()) + " check inter 400ms fall 1\n"
                     "  server c " + addr(c.port()) + " check inter 400ms fall 1\n"
                     "  server d " + addr(d.port()) + " check inter 400ms fall 1\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    REQUIRE(wait_until([&] { return d.accepted() >= 1; }, 2000));
    checker.stop();
    const std::uint64_t ta = a.accept_times().at(0), tb = b.accept_times().at(0), tc = c.accept_times().at(0),
                        td = d.accept_times().at(0);
    // Offsets 0, 100, 200, 300 ms (interval x position / count).
    CHECK(tb - ta >= 70);
    CHECK(tc - tb >= 70);
    CHECK(td - tc >= 70);
    CHECK(td - ta <= 450);
}

TEST_CASE("a server in maintenance is not checked; disabled backends and servers without check are skipped") {
    TestServer srv(TestServer::Mode::accept);
    auto snap = load("backend be\n  server m " + addr(srv.port()) + " check inter 20ms disabled\n"
                     "  server n " + addr(srv.port()) + "\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    CHECK(checker.checked_servers() == 1);
    CHECK(checker.stats(0, 1) == nullptr);
    CHECK(checker.stats(5, 0) == nullptr);
    checker.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    checker.stop();
    CHECK(srv.accepted() == 0);
    CHECK(checker.stats(0, 0)->checks() == 0);
}

TEST_CASE("port and addr redirect the check to another endpoint") {
    TestServer check_port(TestServer::Mode::accept);
    auto snap = load("backend be\n  server web01 " + addr(closed_port()) + " check inter 30ms addr 127.0.0.1 port " +
                     std::to_string(check_port.port()) + "\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    REQUIRE(wait_until([&] { return check_port.accepted() >= 2; }, 2000));
    checker.stop();
    CHECK(table.find_backend("be")->server(0).health() == Health::up);
    CHECK(checker.stats(0, 0)->status() == CheckStatus::l4ok);
}

TEST_CASE("a connection reset before any answer is a socket error with the system's words") {
    TestServer srv(TestServer::Mode::reset);
    auto snap = load("backend b3\n  option httpchk\n  server rst " + addr(srv.port()) + " check inter 2s\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    REQUIRE(wait_until([&] { return table.find_backend("b3")->server(0).health() == Health::down; }, 1500));
    checker.stop();
    CHECK(checker.stats(0, 0)->status() == CheckStatus::sockerr);
    REQUIRE(!log.texts().empty());
    CHECK(log.texts()[0] == "Server b3/rst is DOWN, reason: Socket error, info: \"Connection reset by peer\", "
                            "check duration: Xms. 0 active and 0 backup servers left. 0 sessions active, "
                            "0 requeued, 0 remaining in queue.");
}

TEST_CASE("a server with neither a service port nor a check port is not checked") {
    // skjold's parser wants ADDR:PORT today; HAProxy also takes a bare ADDR with `port`.
    // Build that case by hand: a service port of 0.
    TestServer srv(TestServer::Mode::accept);
    auto parsed = load("backend be\n  server noport 127.0.0.1:1 check inter 20ms\n"
                       "  server withport 127.0.0.1:1 check inter 20ms port " + std::to_string(srv.port()) + "\n");
    auto copy = std::make_shared<conf::Snapshot>(*parsed);
    for (auto& s : copy->proxies[0].servers) s.addr.set_port(0);
    std::shared_ptr<const conf::Snapshot> snap = copy;
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    CHECK(checker.checked_servers() == 1);
    CHECK(checker.stats(0, 0) == nullptr);
    CHECK(checker.stats(0, 1) != nullptr);
}
