// Stopping: SIGTERM/SIGINT stop accepting, let sessions in flight finish (bounded by
// hard-stop-after), and exit 0.
#include <doctest/doctest.h>

#include <signal.h>

#include <thread>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;
using Clock = std::chrono::steady_clock;

namespace {

std::string echo_config(const t::TcpEchoServer& echo, std::string_view global_lines) {
    return "global\n" + std::string(global_lines) + std::string(t::kTcpDefaults) +
           t::fill("listen fe\n"
                   "    bind 127.0.0.1:0\n"
                   "    server echo ${ECHO}\n",
                   {{"ECHO", echo.address().to_string()}});
}

// True when a new client gets no service within a short wait: refused, closed, or left unanswered.
bool new_client_is_turned_away(const t::Address& at) {
    auto conn = t::Connection::open(at, {}, 1s);
    if (!conn.connected()) return true;
    if (!conn.send_all("knock")) return true;
    return conn.recv_n(5, 300ms).data != "knock";
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("SIGTERM lets a session in flight finish, then skjold exits 0") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    // hard-stop-after far above the test's bounds: a prompt exit must come from the session ending.
    auto lb = t::start_with_config(dir, echo_config(echo, "    hard-stop-after 30s\n"));
    auto fe = lb.listener("fe");
    auto conn = t::Connection::open(fe);
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    REQUIRE(conn.send_all("before "));
    REQUIRE(conn.recv_n(7, 5s).data == "before ");

    lb.signal(SIGTERM);
    // Stop accepting: within a bounded time a new client is not served.
    bool turned_away = false;
    for (auto until = Clock::now() + 3s; !turned_away && Clock::now() < until;) {
        turned_away = new_client_is_turned_away(fe);
    }
    CHECK_MESSAGE(turned_away, "new clients were still served 3 s after SIGTERM");

    // The session in flight still works both ways.
    CHECK(lb.running());
    REQUIRE(conn.send_all("after"));
    auto reply = conn.recv_n(5, 5s);
    CHECK(reply.data == "after");
    CHECK(lb.running());

    conn.close();
    auto closed_at = Clock::now();
    auto code = lb.wait_exit(5s);
    REQUIRE_MESSAGE(code.has_value(), "skjold still running 5 s after its last session closed");
    CHECK(*code == 0);
    CHECK(Clock::now() - closed_at < 3s);
}

TEST_CASE("hard-stop-after ends a session that does not finish, and skjold exits 0") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, echo_config(echo, "    hard-stop-after 500ms\n"));
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    REQUIRE(conn.send_all("hi"));
    REQUIRE(conn.recv_n(2, 5s).data == "hi");

    auto sent_at = Clock::now();
    lb.signal(SIGTERM);
    auto code = lb.wait_exit(5s);
    auto took = Clock::now() - sent_at;
    REQUIRE_MESSAGE(code.has_value(), "skjold still running 5 s after SIGTERM with hard-stop-after 500ms");
    CHECK(*code == 0);
    CHECK(took >= 300ms);  // it waited for the session...
    CHECK(took < 3s);      // ...but not much past hard-stop-after
    auto after = conn.recv_all(2s);
    CHECK(after.end != End::timeout);  // the idle client saw its session end
}

TEST_CASE("SIGINT stops skjold like SIGTERM, also with -d") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto cfg = dir.write("skjold.cfg", echo_config(echo, ""));
    auto lb = t::Skjold::start({"-d", "-f", cfg, "--ready-file", dir / "ready"});
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    CHECK(conn.exchange("one session first").data == "one session first");
    lb.signal(SIGINT);
    auto code = lb.wait_exit(5s);
    REQUIRE_MESSAGE(code.has_value(), "skjold still running 5 s after SIGINT with no session");
    CHECK(*code == 0);
    CHECK_FALSE(lb.log().empty());  // -d logs to stderr
}

TEST_CASE("the ready file appears only with every listener in it") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend one\n"
                                                    "    bind 127.0.0.1:0 name first\n"
                                                    "    bind 127.0.0.1:0,127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "listen two\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    server echo ${ECHO}\n"
                                                    "backend be\n"
                                                    "    server echo ${ECHO}\n",
                                                    {{"ECHO", echo.address().to_string()}}));
    REQUIRE(lb.listeners().size() == 4);
    int of_one = 0;
    for (const auto& l : lb.listeners()) of_one += l.proxy == "one";
    CHECK(of_one == 3);
    CHECK(lb.listener("one", "first") == lb.listener("one"));
    CHECK(lb.listener("two").port() != 0);
    // Every listed address accepts and proxies.
    for (const auto& l : lb.listeners()) {
        CAPTURE(l.address);
        auto conn = t::Connection::open(l.address);
        REQUIRE_MESSAGE(conn.connected(), conn.error());
        CHECK(conn.exchange("ok").data == "ok");
    }
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
