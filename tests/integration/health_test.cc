// Health checks and failover seen from outside, in tcp mode: servers started and killed by the
// test, skjold's choice read from which server answers, timings measured against HAProxy's
// bounds (inter x fall + inter to fail over, inter x rise + inter to come back), nbsrv() read
// through use_backend rules, and the state-change log lines.
#include <doctest/doctest.h>

#include <cstdlib>

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "fixed_port_server.hh"
#include "harness.hh"
#include "http_backend.hh"

namespace t = skjold::test;
using t::who_answers;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Polls (every 10 ms, bounded) until `want` answers; returns the time it took, or nullopt.
std::optional<std::chrono::milliseconds> time_until_answer(const t::Address& at, const std::string& want,
                                                           std::chrono::milliseconds limit) {
    const auto start = Clock::now();
    while (Clock::now() - start < limit) {
        if (who_answers(at) == want) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
}

// Polls until `want` answers (bounded), returns what answered last.
std::string wait_for_answer(const t::Address& at, const std::string& want, std::chrono::milliseconds limit) {
    auto until = Clock::now() + limit;
    std::string got;
    do {
        got = who_answers(at);
        if (got == want) return got;
        std::this_thread::sleep_for(20ms);
    } while (Clock::now() < until);
    return got;
}

// Who answers `n` connections, counted by name.
std::map<std::string, int> tally(const t::Address& at, int n) {
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) ++seen[who_answers(at)];
    return seen;
}

// A frontend that tells which nbsrv(pool) skjold computes: the backend chosen names the value.
std::string nbsrv_probe_config(const std::string& pool_lines, const t::TcpAnswerServer& n0, const t::TcpAnswerServer& n1,
                               const t::TcpAnswerServer& n2) {
    return std::string(t::kTcpDefaults) +
           t::fill("frontend fe\n"
                   "    bind 127.0.0.1:0\n"
                   "    use_backend two if { nbsrv(pool) ge 2 }\n"
                   "    use_backend one if { nbsrv(pool) eq 1 }\n"
                   "    default_backend zero\n"
                   "frontend direct\n"
                   "    bind 127.0.0.1:0\n"
                   "    default_backend pool\n"
                   "backend zero\n    server z ${N0}\n"
                   "backend one\n    server o ${N1}\n"
                   "backend two\n    server t ${N2}\n",
                   {{"N0", n0.address().to_string()}, {"N1", n1.address().to_string()}, {"N2", n2.address().to_string()}}) +
           pool_lines;
}

}  // namespace

TEST_SUITE_BEGIN("health");

TEST_CASE("nbsrv(primary) lt 1 sends clients to the backup backend once checks mark the primary down") {
    t::Tempdir dir;
    t::TcpAnswerServer dr("frankfurt");
    auto dead = t::dead_address();
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    acl is_oslo_down nbsrv(oslo_primary) lt 1\n"
                                                    "    use_backend frankfurt_backup if is_oslo_down\n"
                                                    "    default_backend oslo_primary\n"
                                                    "backend oslo_primary\n"
                                                    "    retries 0\n"
                                                    "    server node1 ${DEAD} check inter 100ms rise 2 fall 3\n"
                                                    "backend frankfurt_backup\n"
                                                    "    server dr01 ${DR} check inter 2000 rise 2 fall 3 backup\n",
                                                    {{"DEAD", dead.to_string()}, {"DR", dr.address().to_string()}}));
    // A server with `check` starts UP at health = rise, so ONE failed check (~100 ms) marks it DOWN.
    CHECK(wait_for_answer(lb.listener("fe"), "frankfurt", 3s) == "frankfurt");
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("Server oslo_primary/node1 is DOWN") != std::string::npos);
    CHECK(lb.log().find("oslo_primary has no server available!") != std::string::npos);
}

TEST_CASE("a backup server in a pool takes traffic only while the normal server is down") {
    t::Tempdir dir;
    auto main = std::make_unique<t::TcpAnswerServer>("main");
    t::TcpAnswerServer spare("spare");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend pool\n"
                                                    "backend pool\n"
                                                    "    retries 0\n"
                                                    "    server main ${MAIN} check inter 100ms fall 1 rise 1\n"
                                                    "    server spare ${SPARE} backup\n",
                                                    {{"MAIN", main->address().to_string()},
                                                     {"SPARE", spare.address().to_string()}}));
    for (int i = 0; i < 4; ++i) CHECK(who_answers(lb.listener("fe")) == "main");
    CHECK(spare.accepted() == 0);
    main.reset();   // the main server goes away: its port now refuses
    CHECK(wait_for_answer(lb.listener("fe"), "spare", 3s) == "spare");
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("Server pool/main is DOWN") != std::string::npos);
}

TEST_CASE("killing the whole primary pool fails over within inter x fall + inter, and it comes back within inter x rise + inter") {
    constexpr int kInter = 200, kFall = 3, kRise = 2;
    constexpr auto kSlack = 150ms;   // scheduling, the probe's own period, check durations
    t::Tempdir dir;
    auto p1 = std::make_unique<t::FixedPortServer>("primary");
    auto p2 = std::make_unique<t::FixedPortServer>("primary");
    const std::uint16_t port1 = p1->port(), port2 = p2->port();
    t::TcpAnswerServer b1("backup"), b2("backup");
    auto lb = t::start_with_config(
        dir, std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    use_backend backup_pool if { nbsrv(primary) lt 1 }\n"
                         "    default_backend primary\n"
                         "backend primary\n"
                         "    retries 0\n"
                         "    default-server check inter ${INTER} fall ${FALL} rise ${RISE}\n"
                         "    server p1 ${P1}\n"
                         "    server p2 ${P2}\n"
                         "backend backup_pool\n"
                         "    server b1 ${B1} check inter ${INTER}\n"
                         "    server b2 ${B2} check inter ${INTER}\n",
                         {{"INTER", std::to_string(kInter)}, {"FALL", std::to_string(kFall)}, {"RISE", std::to_string(kRise)},
                          {"P1", p1->address().to_string()}, {"P2", p2->address().to_string()},
                          {"B1", b1.address().to_string()}, {"B2", b2.address().to_string()}}));
    const auto fe = lb.listener("fe");
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * kInter));   // every server checked: fully UP
    CHECK(tally(fe, 6) == std::map<std::string, int>{{"primary", 6}});

    p1.reset();
    p2.reset();
    const auto down = time_until_answer(fe, "backup", 5s);
    REQUIRE(down.has_value());
    INFO("failover took " << down->count() << " ms");
    CHECK(*down <= std::chrono::milliseconds(kInter * kFall + kInter) + kSlack);
    // From fully UP it takes fall failed checks, the first within inter: never before (fall-1) x inter.
    CHECK(*down >= std::chrono::milliseconds(kInter * (kFall - 1)) - 20ms);
    CHECK(tally(fe, 4) == std::map<std::string, int>{{"backup", 4}});

    p1 = std::make_unique<t::FixedPortServer>("primary", port1);
    p2 = std::make_unique<t::FixedPortServer>("primary", port2);
    const auto up = time_until_answer(fe, "primary", 5s);
    REQUIRE(up.has_value());
    INFO("failback took " << up->count() << " ms");
    CHECK(*up <= std::chrono::milliseconds(kInter * kRise + kInter) + kSlack);
    CHECK(*up >= std::chrono::milliseconds(kInter * (kRise - 1)) - 20ms);
    CHECK(tally(fe, 4) == std::map<std::string, int>{{"primary", 4}});

    CHECK(lb.stop() == 0);
    const std::string log = lb.log();
    CHECK(log.find("Server primary/p1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"") !=
          std::string::npos);
    CHECK(log.find("backend primary has no server available!") != std::string::npos);
    CHECK(log.find("Server primary/p2 is UP, reason: Layer4 check passed") != std::string::npos);
}

TEST_CASE("a health endpoint answering 503 takes its server out with Layer7 wrong status") {
    t::Tempdir dir;
    t::TcpAnswerServer web1("web1"), web2("web2");
    t::HttpBackend sick([](const t::SeenRequest&) { return t::Reply::text("overloaded", 503); });
    t::HttpBackend fine([](const t::SeenRequest&) { return t::Reply::text("ok"); });
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend pool\n"
                                                    "backend pool\n"
                                                    "    option httpchk GET /healthz\n"
                                                    "    server web1 ${W1} check port ${HC1} inter 100ms\n"
                                                    "    server web2 ${W2} check port ${HC2} inter 100ms\n",
                                                    {{"W1", web1.address().to_string()}, {"W2", web2.address().to_string()},
                                                     {"HC1", std::to_string(sick.address().port())},
                                                     {"HC2", std::to_string(fine.address().port())}}));
    REQUIRE(sick.wait_requests(1, 3s));
    std::this_thread::sleep_for(150ms);   // let the verdict land
    CHECK(tally(lb.listener("fe"), 6) == std::map<std::string, int>{{"web2", 6}});
    CHECK(sick.last().target() == "/healthz");
    CHECK(sick.last().method() == "GET");
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("Server pool/web1 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service "
                        "Unavailable\"") != std::string::npos);
}

TEST_CASE("a health endpoint that accepts and never answers is a Layer7 timeout after timeout check") {
    t::Tempdir dir;
    t::TcpAnswerServer web1("web1"), web2("web2");
    t::HttpBackend silent([](const t::SeenRequest&) { return t::Reply::hang(); });
    t::HttpBackend fine([](const t::SeenRequest&) { return t::Reply::text("ok"); });
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend pool\n"
                                                    "backend pool\n"
                                                    "    option httpchk\n"
                                                    "    timeout check 200ms\n"
                                                    "    server web1 ${W1} check port ${HC1} inter 2s\n"
                                                    "    server web2 ${W2} check port ${HC2} inter 2s\n",
                                                    {{"W1", web1.address().to_string()}, {"W2", web2.address().to_string()},
                                                     {"HC1", std::to_string(silent.address().port())},
                                                     {"HC2", std::to_string(fine.address().port())}}));
    REQUIRE(silent.wait_requests(1, 3s));
    const auto t0 = Clock::now();
    // Judged after timeout check (200 ms), not after inter (2 s): from then on only web2 answers.
    const auto until = t0 + 1500ms;
    while (Clock::now() < until && tally(lb.listener("fe"), 4) != std::map<std::string, int>{{"web2", 4}})
        std::this_thread::sleep_for(10ms);
    const auto took = Clock::now() - t0;
    CHECK(took >= 150ms);
    CHECK(took < 1000ms);
    CHECK(tally(lb.listener("fe"), 4) == std::map<std::string, int>{{"web2", 4}});
    CHECK(lb.stop() == 0);
    // The check duration is about `timeout check` (200 ms); the timer wheel's millisecond
    // rounding may report 199, so the bound is the same as for `took` above.
    const std::string log = lb.log();
    const std::string line = "Server pool/web1 is DOWN, reason: Layer7 timeout, check duration: ";
    const auto at = log.find(line);
    REQUIRE(at != std::string::npos);
    const int duration_ms = std::atoi(log.c_str() + at + line.size());
    CHECK(duration_ms >= 150);
    CHECK(duration_ms < 1000);
}

TEST_CASE("backups inside a pool: only the first usable one without allbackups, all of them with it") {
    for (const bool all : {false, true}) {
        CAPTURE(all);
        t::Tempdir dir;
        t::TcpAnswerServer bk1("bk1"), bk2("bk2");
        auto dead = t::dead_address();
        auto lb = t::start_with_config(
            dir, "global\n    nbthread 1\n" + std::string(t::kTcpDefaults) +
                     t::fill("frontend fe\n"
                             "    bind 127.0.0.1:0\n"
                             "    default_backend pool\n"
                             "backend pool\n"
                             "    retries 0\n" +
                                 std::string(all ? "    option allbackups\n" : "") +
                                 "    server main ${DEAD} check inter 50ms fall 1\n"
                                 "    server bk1 ${BK1} check inter 50ms backup\n"
                                 "    server bk2 ${BK2} check inter 50ms backup\n",
                             {{"DEAD", dead.to_string()}, {"BK1", bk1.address().to_string()},
                              {"BK2", bk2.address().to_string()}}));
        REQUIRE(wait_for_answer(lb.listener("fe"), "bk1", 3s) == "bk1");
        const auto seen = tally(lb.listener("fe"), 10);
        if (all)
            CHECK(seen == std::map<std::string, int>{{"bk1", 5}, {"bk2", 5}});
        else
            CHECK(seen == std::map<std::string, int>{{"bk1", 10}});
        CHECK(lb.stop() == 0);
    }
}

TEST_CASE("nbsrv counts usable active servers, then 1 for a usable backup, or every backup with allbackups") {
    for (const bool all : {false, true}) {
        CAPTURE(all);
        t::Tempdir dir;
        t::TcpAnswerServer n0("0"), n1("1"), n2("2");
        auto a1 = std::make_unique<t::TcpAnswerServer>("a1");
        auto a2 = std::make_unique<t::TcpAnswerServer>("a2");
        auto b1 = std::make_unique<t::TcpAnswerServer>("b1");
        auto b2 = std::make_unique<t::TcpAnswerServer>("b2");
        const std::string pool =
            t::fill("backend pool\n" + std::string(all ? "    option allbackups\n" : "") +
                        "    retries 0\n"   // a probe meeting a server not yet marked DOWN fails at once
                        "    default-server check inter 50ms fall 1 rise 1\n"
                        "    server a1 ${A1}\n    server a2 ${A2}\n"
                        "    server b1 ${B1} backup\n    server b2 ${B2} backup\n",
                    {{"A1", a1->address().to_string()}, {"A2", a2->address().to_string()},
                     {"B1", b1->address().to_string()}, {"B2", b2->address().to_string()}});
        auto lb = t::start_with_config(dir, nbsrv_probe_config(pool, n0, n1, n2));
        const auto fe = lb.listener("fe");
        CHECK(who_answers(fe) == "2");                         // two active servers
        a1.reset();
        CHECK(wait_for_answer(fe, "1", 2s) == "1");            // one active left
        a2.reset();
        // No active server: the pool runs on its backups, which keep nbsrv above 0 (HAProxy: 1
        // for the first usable backup, or every usable backup with allbackups).
        CHECK(wait_for_answer(lb.listener("direct"), "b1", 2s) == "b1");
        CHECK(who_answers(fe) == (all ? "2" : "1"));
        b1.reset();
        CHECK(wait_for_answer(fe, "1", 2s) == "1");
        CHECK(wait_for_answer(lb.listener("direct"), "b2", 2s) == "b2");
        b2.reset();
        CHECK(wait_for_answer(fe, "0", 2s) == "0");
        CHECK(lb.stop() == 0);
    }
}

TEST_CASE("observe layer4 error-limit 1 on-error mark-down takes a killed server out on its first failed request") {
    // Checks every 10 s could not see it in time: only the failed connection can.
    t::Tempdir dir;
    auto p1 = std::make_unique<t::TcpAnswerServer>("p1");
    t::TcpAnswerServer p2("p2");
    auto lb = t::start_with_config(
        dir, "global\n    nbthread 1\n" + std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    default_backend pool\n"
                         "backend pool\n"
                         "    retries 0\n"
                         "    server p1 ${P1} check inter 10s observe layer4 error-limit 1 on-error mark-down\n"
                         "    server p2 ${P2} check inter 10s observe layer4 error-limit 1 on-error mark-down\n",
                         {{"P1", p1->address().to_string()}, {"P2", p2.address().to_string()}}));
    const auto fe = lb.listener("fe");
    CHECK(tally(fe, 4) == std::map<std::string, int>{{"p1", 2}, {"p2", 2}});
    p1.reset();
    // Requests every 10 ms: the one that meets the dead server fails (retries 0 makes it
    // visible); within 100 ms of it the server is out of rotation and nothing fails any more.
    std::optional<Clock::time_point> first_failure;
    int failures = 0, late_failures = 0;
    const auto until = Clock::now() + 1s;
    while (Clock::now() < until) {
        const std::string who = who_answers(fe);
        const auto now = Clock::now();
        if (who != "p2") {
            ++failures;
            if (!first_failure) first_failure = now;
            else if (now - *first_failure > 100ms) ++late_failures;
        }
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(first_failure.has_value());
    CHECK(failures <= 2);
    CHECK(late_failures == 0);
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("Server pool/p1 is DOWN, reason: Health analyze, info: \"Detected 1 consecutive errors, last "
                        "one was: L4 unsuccessful connection\"") != std::string::npos);
}

TEST_CASE("slowstart: a server back from DOWN takes a growing share under roundrobin") {
    t::Tempdir dir;
    auto p1 = std::make_unique<t::FixedPortServer>("p1");
    const std::uint16_t port1 = p1->port();
    t::FixedPortServer p2("p2");
    auto lb = t::start_with_config(
        dir, "global\n    nbthread 1\n" + std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    default_backend pool\n"
                         "backend pool\n"
                         "    balance roundrobin\n"
                         "    retries 1\n"
                         "    option redispatch\n"
                         "    server p1 ${P1} check inter 50ms fall 1 rise 1 weight 100 slowstart 2s\n"
                         "    server p2 ${P2} check inter 50ms weight 100\n",
                         {{"P1", p1->address().to_string()}, {"P2", p2.address().to_string()}}));
    const auto fe = lb.listener("fe");
    p1.reset();
    REQUIRE(wait_for_answer(fe, "p2", 2s) == "p2");
    std::this_thread::sleep_for(200ms);
    p1 = std::make_unique<t::FixedPortServer>("p1", port1);
    const auto back = Clock::now() + 2s;
    while (p1->accepted() == 0 && Clock::now() < back) std::this_thread::sleep_for(5ms);   // its first check
    REQUIRE(p1->accepted() > 0);
    std::this_thread::sleep_for(20ms);
    // Early in the ramp p1 weighs a few percent of p2; two seconds later they are even.
    const auto early = tally(fe, 100);
    std::this_thread::sleep_for(2200ms);
    const auto late = tally(fe, 100);
    CHECK(lb.stop() == 0);
    INFO("early p1 " << (early.count("p1") ? early.at("p1") : 0) << ", late p1 " << (late.count("p1") ? late.at("p1") : 0));
    CHECK(early.count("p1") == 1);
    CHECK(early.at("p1") < 30);
    CHECK(late.at("p1") == 50);
    CHECK(late.at("p2") == 50);
}
