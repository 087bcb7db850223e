// Process keywords seen from outside: `daemon` returns to the shell once listening, `pidfile`
// names the process that serves, SIGTERM to it stops it and removes the pidfile.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <thread>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return cond();
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("daemon returns at once, the pidfile names the serving process, SIGTERM stops it") {
    t::Tempdir dir;
    t::TcpAnswerServer s("served");
    auto pidfile = dir / "skjold.pid";
    auto ready = dir / "ready";
    auto cfg = dir.write("skjold.cfg", "global\n    daemon\n    pidfile " + pidfile.string() + "\n" +
                                           std::string(t::kTcpDefaults) +
                                           t::fill("frontend fe\n"
                                                   "    bind 127.0.0.1:0\n"
                                                   "    default_backend be\n"
                                                   "backend be\n"
                                                   "    server s ${S}\n",
                                                   {{"S", s.address().to_string()}}));
    auto parent = t::run_check({"-f", cfg.string(), "--ready-file", ready.string()}, 10s);
    CHECK(parent.exit_code == 0);
    REQUIRE(wait_until([&] { return std::filesystem::exists(ready); }, 5s));
    int pid = 0;
    std::ifstream(pidfile) >> pid;
    REQUIRE(pid > 1);
    CHECK(kill(pid, 0) == 0);   // alive after its parent returned
    std::string line;
    std::ifstream(ready) >> line;
    CHECK(line == "fe");
    // It serves.
    std::string addr_text;
    {
        std::ifstream in(ready);
        std::string name, bind;
        in >> name >> bind >> addr_text;
    }
    auto addr = t::Address::parse(addr_text);
    REQUIRE(addr.has_value());
    CHECK(t::who_answers(*addr) == "served");
    REQUIRE(kill(pid, SIGTERM) == 0);
    CHECK(wait_until([&] { return kill(pid, 0) != 0; }, 5s));
    CHECK_FALSE(std::filesystem::exists(pidfile));
}
