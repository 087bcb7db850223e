// Process keywords seen from outside: `daemon` returns to the shell once listening, `pidfile`
// names the process that serves, SIGTERM to it stops it and removes the pidfile.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
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

// A frontend on 127.0.0.1:0 sending everything to server `s`.
std::string one_server_config(const t::TcpServer& s) {
    return std::string(t::kTcpDefaults) + t::fill("frontend fe\n"
                                                  "    bind 127.0.0.1:0\n"
                                                  "    default_backend be\n"
                                                  "backend be\n"
                                                  "    server s ${S}\n",
                                                  {{"S", s.address().to_string()}});
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

TEST_CASE("-D and -p on the command line daemonize and write the pidfile as the keywords do") {
    t::Tempdir dir;
    t::TcpAnswerServer s("served");
    auto pidfile = dir / "cmdline.pid";
    auto ready = dir / "ready";
    auto cfg = dir.write("skjold.cfg", one_server_config(s));
    auto parent = t::run_check({"-D", "-p", pidfile.string(), "-f", cfg.string(), "--ready-file", ready.string()}, 10s);
    CHECK(parent.exit_code == 0);
    REQUIRE(wait_until([&] { return std::filesystem::exists(ready); }, 5s));
    int pid = 0;
    std::ifstream(pidfile) >> pid;
    REQUIRE(pid > 1);
    CHECK(pid != getpid());
    REQUIRE(kill(pid, SIGTERM) == 0);
    CHECK(wait_until([&] { return kill(pid, 0) != 0; }, 5s));
    CHECK_FALSE(std::filesystem::exists(pidfile));
}

TEST_CASE("under systemd (NOTIFY_SOCKET) skjold sends READY=1 once serving and STOPPING=1 on SIGTERM") {
    t::Tempdir dir;
    t::TcpAnswerServer s("served");
    auto sock_path = dir / "notify.sock";
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto cfg = dir.write("skjold.cfg", one_server_config(s));
    setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
    auto lb = t::Skjold::start({"-f", cfg.string(), "--ready-file", (dir / "ready").string()});
    unsetenv("NOTIFY_SOCKET");
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n)) == "READY=1");
    CHECK(t::who_answers(lb.listener("fe")) == "served");
    CHECK(lb.stop() == 0);
    n = recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n)) == "STOPPING=1");
    close(fd);
}
