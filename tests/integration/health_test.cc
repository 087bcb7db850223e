// Active health checks seen from outside: a dead primary pool makes nbsrv() switch clients to the
// backup backend, a `backup` server takes over inside a pool, and the DOWN line is logged.
#include <doctest/doctest.h>

#include <thread>

#include "harness.hh"

namespace t = skjold::test;
using t::who_answers;
using namespace std::chrono_literals;

namespace {


// Polls until `want` answers (bounded), returns what answered last.
std::string wait_for_answer(const t::Address& at, const std::string& want, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    std::string got;
    do {
        got = who_answers(at);
        if (got == want) return got;
        std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < until);
    return got;
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

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
