// The Checker as the single writer of run-time server state: stats-socket commands (admin()),
// passive observation (Observer -> on-error) and slowstart ramps, against real sockets on
// 127.0.0.1. Expected log lines and error texts are haproxy 2.6.12's, seen on its CLI and log.
#include "health/checker.hh"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "checker_fixture.hh"

using namespace skjold;
using namespace skjold::health_test;
using health::Admin;
using health::AdminCommand;
using health::CheckStatus;
using health::Checker;
using health::Health;
using health::ObserveEvent;
using health::Observer;
using health::ServerStateTable;

namespace {

AdminCommand state(int server, Admin a) {
    AdminCommand c;
    c.op = AdminCommand::Op::set_state;
    c.proxy = 0;
    c.server = server;
    c.admin = a;
    return c;
}

AdminCommand health_cmd(int server, Health h) {
    AdminCommand c;
    c.op = AdminCommand::Op::set_health;
    c.proxy = 0;
    c.server = server;
    c.health = h;
    return c;
}

AdminCommand weight(int server, int w, bool percent = false) {
    AdminCommand c;
    c.op = AdminCommand::Op::set_weight;
    c.proxy = 0;
    c.server = server;
    c.weight = w;
    c.percent = percent;
    return c;
}

AdminCommand op(AdminCommand::Op o, int server) {
    AdminCommand c;
    c.op = o;
    c.proxy = 0;
    c.server = server;
    return c;
}

std::string error_of(const core::Result<void>& r) { return r ? std::string("ok") : r.error().detail; }

bool has_line(LogSink& log, const std::string& text) {
    for (const auto& t : log.texts())
        if (t == text) return true;
    return false;
}

}  // namespace

TEST_CASE("admin() returns once the checker thread applied the change, logged as HAProxy logs it") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) + " check inter 10s\n"
                     "  server s2 " + addr(up.port()) + " check inter 10s\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    const auto& b = *table.find_backend("b");
    const auto g = b.generation();

    REQUIRE(checker.admin(state(0, Admin::maint)));
    CHECK(b.server(0).admin() == Admin::maint);   // visible on return, not eventually
    CHECK(b.server(0).health() == Health::down);
    CHECK(b.generation() > g);
    CHECK(has_line(log, "Server b/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. "
                        "0 sessions active, 0 requeued, 0 remaining in queue."));
    REQUIRE(checker.admin(state(0, Admin::ready)));
    CHECK(b.server(0).admin() == Admin::ready);
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).health_counter() >= 2);   // rise, or fully up if the immediate check already ran
    CHECK(has_line(log, "Server b/s1 is UP/READY (leaving forced maintenance)."));
    REQUIRE(checker.admin(state(0, Admin::drain)));
    CHECK(has_line(log, "Server b/s1 enters drain state. 1 active and 0 backup servers online. "
                        "0 sessions requeued, 0 total in queue."));
    REQUIRE(checker.admin(state(0, Admin::maint)));
    REQUIRE(checker.admin(state(0, Admin::drain)));
    CHECK(has_line(log, "Server b/s1 is UP/DRAIN (leaving forced maintenance)."));
    CHECK(has_line(log, "Server b/s1 remains in forced drain mode."));
    REQUIRE(checker.admin(op(AdminCommand::Op::enable_server, 0)));
    CHECK(has_line(log, "Server b/s1 is UP (leaving forced drain)."));
    CHECK(b.server(0).admin() == Admin::ready);
    REQUIRE(checker.admin(op(AdminCommand::Op::disable_server, 1)));
    CHECK(b.server(1).admin() == Admin::maint);
    const auto lines = log.texts().size();
    REQUIRE(checker.admin(op(AdminCommand::Op::disable_server, 1)));   // already: nothing, no line
    CHECK(log.texts().size() == lines);
    checker.stop();
}

TEST_CASE("without a checker thread, admin() applies on the caller's thread") {
    auto snap = load("backend b\n  server s1 127.0.0.1:1\n  server s2 127.0.0.1:2\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();   // nothing to check, ramp or observe: no thread
    REQUIRE(checker.admin(state(1, Admin::maint)));
    CHECK(table.find_backend("b")->server(1).admin() == Admin::maint);
    CHECK(has_line(log, "Server b/s2 is going DOWN for maintenance. 1 active and 0 backup servers left. "
                        "0 sessions active, 0 requeued, 0 remaining in queue."));
    REQUIRE(checker.admin(state(0, Admin::maint)));
    CHECK(has_line(log, "backend b has no server available!"));
}

TEST_CASE("set server health up|stopping|down changes health and logs 'changed from CLI'") {
    auto snap = load("backend b\n  server s1 127.0.0.1:1\n  server s2 127.0.0.1:2 backup\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    const auto& b = *table.find_backend("b");
    REQUIRE(checker.admin(health_cmd(1, Health::stopping)));
    CHECK(b.server(1).health() == Health::stopping);
    CHECK(has_line(log, "Backup Server b/s2 is stopping, changed from CLI. 1 active and 0 backup servers online. "
                        "0 sessions requeued, 0 total in queue."));
    REQUIRE(checker.admin(health_cmd(1, Health::up)));
    CHECK(b.server(1).health() == Health::up);
    CHECK(has_line(log, "Backup Server b/s2 is UP, changed from CLI. 1 active and 1 backup servers online. "
                        "0 sessions requeued, 0 total in queue."));
    REQUIRE(checker.admin(health_cmd(0, Health::down)));
    CHECK(b.server(0).health() == Health::down);
    CHECK(has_line(log, "Server b/s1 is DOWN, changed from CLI. 0 active and 1 backup servers left. Running on "
                        "backup. 0 sessions active, 0 requeued, 0 remaining in queue."));
    CHECK(error_of(checker.admin(health_cmd(0, Health::starting))) ==
          "'set server <srv> health' expects 'up', 'stopping', or 'down'.");
    REQUIRE(checker.admin(op(AdminCommand::Op::disable_server, 0)));   // already DOWN
    CHECK(has_line(log, "Server b/s1 was DOWN and now enters maintenance."));
}

TEST_CASE("a stopping server whose check passes is running again, as HAProxy's check_notify_success") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) + " check inter 40ms\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return s.health_counter() == 4; }, 2000));
    REQUIRE(checker.admin(health_cmd(0, Health::stopping)));
    CHECK(s.health() == Health::stopping);
    CHECK(wait_until([&] { return s.health() == Health::up; }, 1000));
    checker.stop();
    CHECK(has_line(log, "Server b/s1 is UP, reason: Layer4 check passed, check duration: Xms. 1 active and 0 backup "
                        "servers online. 0 sessions requeued, 0 total in queue."));
}

TEST_CASE("set weight: absolute, relative to the configured weight, and static algorithms' limits") {
    auto snap = load("backend b\n  server s1 127.0.0.1:1 weight 10\n  server s2 127.0.0.1:2 weight 10\n"
                     "backend st\n  balance static-rr\n  server t1 127.0.0.1:3 weight 10\n");
    ServerStateTable table(*snap);
    LogSink log;
    Checker checker(snap, table, log.options());
    const auto& b = *table.find_backend("b");
    REQUIRE(checker.admin(weight(0, 50, true)));
    CHECK(b.server(0).user_weight() == 5);
    CHECK(b.server(0).weight() == 5);
    CHECK(b.server(0).config_weight() == 10);
    REQUIRE(checker.admin(weight(0, 256)));
    CHECK(b.server(0).weight() == 256);
    CHECK(error_of(checker.admin(weight(0, 257))) == "Absolute weight can only be between 0 and 256 inclusive.");
    CHECK(error_of(checker.admin(weight(0, -1, true))) == "Relative weight must be positive.");

    AdminCommand st = weight(0, 5);
    st.proxy = 1;
    CHECK(error_of(checker.admin(st)) ==
          "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.");
    st.weight = 100;
    st.percent = true;
    CHECK(checker.admin(st));
    st.weight = 0;
    st.percent = false;
    CHECK(checker.admin(st));   // 0 is allowed, and it empties the backend
    CHECK(table.find_backend("st")->server(0).weight() == 0);
    CHECK(has_line(log, "backend st has no server available!"));
}

TEST_CASE("bad indexes and health on unchecked servers get HAProxy's answers") {
    auto snap = load("frontend fe\n  bind 127.0.0.1:0\n  default_backend b\n"
                     "backend b\n  server s1 127.0.0.1:1\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    AdminCommand c = state(0, Admin::maint);
    CHECK(error_of(checker.admin(c)) == "No such backend.");   // proxy 0 is the frontend
    c.proxy = 7;
    CHECK(checker.admin(c).error().code == core::Errc::not_found);
    c.proxy = 1;
    c.server = 3;
    CHECK(error_of(checker.admin(c)) == "No such server.");
    AdminCommand eh = op(AdminCommand::Op::enable_health, 0);
    eh.proxy = 1;
    CHECK(error_of(checker.admin(eh)) == "Health check was not configured on this server, cannot enable.");
    eh.op = AdminCommand::Op::disable_health;
    CHECK(checker.admin(eh));   // HAProxy accepts it silently
}

TEST_CASE("disable health stops the checks and the server keeps its state; enable health resumes them") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) + " check inter 30ms\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return up.accepted() >= 2; }, 2000));
    REQUIRE(checker.admin(op(AdminCommand::Op::disable_health, 0)));
    CHECK_FALSE(s.checks_enabled());
    REQUIRE(checker.admin(health_cmd(0, Health::down)));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));   // a check in flight may still land
    const auto seen = up.accepted();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(up.accepted() == seen);
    CHECK(s.health() == Health::down);   // no check brought it back
    REQUIRE(checker.admin(op(AdminCommand::Op::enable_health, 0)));
    CHECK(wait_until([&] { return s.health() == Health::up; }, 2000));
    checker.stop();
}

TEST_CASE("observe layer4 error-limit 1 on-error mark-down takes a server down at its first failed connection") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) +
                     " check inter 10s observe layer4 error-limit 1 on-error mark-down\n"
                     "  server s2 " + addr(up.port()) + " check inter 10s\n");
    ServerStateTable table(*snap);
    Observer observer(*snap, 2);
    LogSink log;
    auto o = log.options();
    o.observer = &observer;
    Checker checker(snap, table, o);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return checker.stats(0, 0)->checks() >= 1; }, 2000));   // next one in 10 s
    REQUIRE(s.health() == Health::up);
    const std::uint64_t t0 = core::monotonic_ms();
    observer.report(1, 0, 0, ObserveEvent::l4_error);   // what worker 1 does after a refused connect
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 1000));
    const std::uint64_t took = core::monotonic_ms() - t0;
    CHECK(took < 100);   // the goal: out of rotation within 100 ms of the first failed request
    CHECK(has_line(log, "Server b/s1 is DOWN, reason: Health analyze, info: \"Detected 1 consecutive errors, last "
                        "one was: L4 unsuccessful connection\". 1 active and 0 backup servers left. 0 sessions "
                        "active, 0 requeued, 0 remaining in queue."));
    CHECK(checker.stats(0, 0)->status() == CheckStatus::hana);
    CHECK(checker.stats(0, 0)->duration_ms() == -1);
    CHECK(checker.stats(0, 0)->observe_failures() == 1);
    CHECK(checker.stats(0, 0)->down_transitions() == 1);
    // The checks bring it back (the server accepts): rise successes at fastinter/inter.
    checker.stop();
}

TEST_CASE("fail-check needs error-limit consecutive errors; a success in between starts the count again") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) +
                     " check inter 10s rise 2 fall 3 observe layer4 error-limit 3 on-error fail-check\n");
    ServerStateTable table(*snap);
    Observer observer(*snap, 1);
    Checker::Options o;
    o.observer = &observer;
    Checker checker(snap, table, o);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return s.health_counter() == 4; }, 2000));   // first check passed: fully up
    const auto* st = checker.stats(0, 0);
    auto send = [&](ObserveEvent ev) { observer.report(0, 0, 0, ev); };
    send(ObserveEvent::l4_error);
    send(ObserveEvent::l4_error);
    send(ObserveEvent::l4_ok);   // resets
    send(ObserveEvent::l4_error);
    send(ObserveEvent::l4_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(st->observe_failures() == 0);
    CHECK(s.health_counter() == 4);
    CHECK(observer.errors(0, 0) == 2);
    send(ObserveEvent::l4_timeout);   // the third in a row: one simulated failed check
    REQUIRE(wait_until([&] { return st->observe_failures() == 1; }, 1000));
    CHECK(s.health_counter() == 3);
    CHECK(s.health() == Health::up);
    CHECK(st->failed_checks() == 1);
    CHECK(observer.errors(0, 0) == 0);
    checker.stop();
}

TEST_CASE("sudden-death leaves a fully UP server one failure away from DOWN") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) +
                     " check inter 10s rise 2 fall 4 observe layer4 error-limit 1 on-error sudden-death\n");
    ServerStateTable table(*snap);
    Observer observer(*snap, 1);
    Checker::Options o;
    o.observer = &observer;
    Checker checker(snap, table, o);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return s.health_counter() == 5; }, 2000));
    observer.report(0, 0, 0, ObserveEvent::l4_error);
    REQUIRE(wait_until([&] { return checker.stats(0, 0)->observe_failures() == 1; }, 1000));
    CHECK(s.health_counter() == 2);   // rise: still UP, the next failure takes it DOWN
    CHECK(s.health() == Health::up);
    observer.report(0, 0, 0, ObserveEvent::l4_error);
    CHECK(wait_until([&] { return s.health() == Health::down; }, 1000));
    checker.stop();
}

TEST_CASE("on-error fastinter only brings the next check forward to fastinter") {
    TestServer up(TestServer::Mode::accept);
    auto snap = load("backend b\n  server s1 " + addr(up.port()) +
                     " check inter 10s fastinter 50ms observe layer4 error-limit 1 on-error fastinter\n");
    ServerStateTable table(*snap);
    Observer observer(*snap, 1);
    Checker::Options o;
    o.observer = &observer;
    Checker checker(snap, table, o);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    REQUIRE(wait_until([&] { return s.health_counter() == 4 && up.accepted() >= 1; }, 2000));
    const auto before = up.accepted();
    observer.report(0, 0, 0, ObserveEvent::l4_error);
    CHECK(wait_until([&] { return up.accepted() > before; }, 500));   // not 10 s
    CHECK(s.health() == Health::up);
    CHECK(s.health_counter() == 4);
    checker.stop();
}

TEST_CASE("slowstart ramps a server back from maintenance in steps; workers see each step") {
    auto snap = load("backend b\n  balance roundrobin\n  server s1 127.0.0.1:1 weight 100 slowstart 1s\n"
                     "  server s2 127.0.0.1:2 weight 100\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();   // a ramp to run: the thread runs without any check
    const auto& b = *table.find_backend("b");
    REQUIRE(checker.admin(state(0, Admin::maint)));
    const std::uint64_t t0 = core::monotonic_ms();
    REQUIRE(checker.admin(state(0, Admin::ready)));
    CHECK(b.server(0).health() == Health::starting);
    CHECK(b.server(0).weight() == 1);
    CHECK(health::nbsrv(b) == 2);
    std::vector<int> seen;
    auto g = b.generation();
    while (b.server(0).health() == Health::starting && core::monotonic_ms() - t0 < 3000) {
        if (b.generation() != g) {
            g = b.generation();
            seen.push_back(b.server(0).weight());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::uint64_t took = core::monotonic_ms() - t0;
    checker.stop();
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).weight() == 100);
    CHECK(took >= 950);
    CHECK(took < 1500);
    CHECK(seen.size() >= 5);    // 100 ms steps: about ten
    CHECK(seen.size() <= 12);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
}

TEST_CASE("a server coming back UP after failed checks slowstarts; one that never failed does not") {
    const std::uint16_t port = closed_port();
    auto snap = load("backend b\n  server s1 " + addr(port) + " check inter 30ms rise 1 fall 1 weight 50 slowstart 500ms\n");
    ServerStateTable table(*snap);
    Checker checker(snap, table);
    checker.start();
    const auto& s = table.find_backend("b")->server(0);
    CHECK(s.weight() == 50);   // at start: full weight
    REQUIRE(wait_until([&] { return s.health() == Health::down; }, 2000));
    TestServer back(TestServer::Mode::accept, {}, port);
    REQUIRE(wait_until([&] { return s.health() != Health::down; }, 2000));
    CHECK(s.health() == Health::starting);
    CHECK(s.weight() < 50);
    CHECK(wait_until([&] { return s.health() == Health::up && s.weight() == 50; }, 2000));
    checker.stop();
}
