// The harness's own pieces, without skjold: if these fail, the skjold tests cannot be trusted.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <thread>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("harness");

TEST_CASE("a Tempdir holds written files and disappears with its contents") {
    std::filesystem::path kept;
    {
        t::Tempdir dir;
        kept = dir.path();
        auto file = dir.write("a.cfg", "global\n");
        CHECK(file == dir / "a.cfg");
        std::ifstream in(file);
        std::string line;
        std::getline(in, line);
        CHECK(line == "global");
        CHECK(std::filesystem::is_directory(kept));
    }
    if (std::getenv("SKJOLD_KEEP_TMP") == nullptr) CHECK_FALSE(std::filesystem::exists(kept));
}

TEST_CASE("addresses from the ready file parse and print back unchanged") {
    auto v4 = t::Address::parse("127.0.0.1:41234");
    REQUIRE(v4.has_value());
    CHECK(v4->port() == 41234);
    CHECK(v4->to_string() == "127.0.0.1:41234");
    auto v6 = t::Address::parse("[::1]:40000");
    REQUIRE(v6.has_value());
    CHECK(v6->family() == AF_INET6);
    CHECK(v6->to_string() == "[::1]:40000");
    CHECK_FALSE(t::Address::parse("127.0.0.1").has_value());
    CHECK_FALSE(t::Address::parse("::1:80").has_value());
    CHECK_FALSE(t::Address::parse("127.0.0.1:65536").has_value());
    CHECK_FALSE(t::Address::parse("localhost:80").has_value());
}

TEST_CASE("fill replaces every placeholder and rejects unknown ones") {
    CHECK(t::fill("server a ${A} # { src 1 }\nserver b ${B}", {{"A", "1:2"}, {"B", "3:4"}}) ==
          "server a 1:2 # { src 1 }\nserver b 3:4");
    CHECK_THROWS(t::fill("${NOPE}", {{"A", "x"}}));
}

TEST_CASE("the echo server returns 1 MiB of random bytes intact and honours half-close") {
    t::TcpEchoServer echo;
    auto data = t::random_bytes(1 << 20, 1);
    auto conn = t::Connection::open(echo.address());
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto reply = conn.exchange(data);
    INFO(conn.error());
    CHECK(reply.end == t::Received::End::eof);
    CHECK(reply.data.size() == data.size());
    CHECK(reply.data == data);
    CHECK(echo.accepted() == 1);
}

TEST_CASE("an answer server names itself, then closes, and counts its connections") {
    t::TcpAnswerServer a("server-a\n");
    for (int i = 0; i < 3; ++i) {
        auto conn = t::Connection::open(a.address());
        REQUIRE_MESSAGE(conn.connected(), conn.error());
        auto got = conn.recv_all(2s);
        CHECK(got.end == t::Received::End::eof);
        CHECK(got.data == "server-a\n");
    }
    CHECK(a.accepted() == 3);
}

TEST_CASE("an answer server in echo mode names itself then echoes") {
    t::TcpAnswerServer a("hi ", t::TcpServer::Then::echo);
    auto conn = t::Connection::open(a.address());
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto got = conn.exchange("ping");
    CHECK(got.end == t::Received::End::eof);
    CHECK(got.data == "hi ping");
}

TEST_CASE("a client bound to 127.0.0.2 is seen from 127.0.0.2") {
    t::TcpEchoServer echo;
    auto conn = t::Connection::open(echo.address(), "127.0.0.2");
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    CHECK(conn.local().host() == "127.0.0.2");
    CHECK(conn.exchange("x").data == "x");
}

TEST_CASE("a dead address refuses connections") {
    auto dead = t::dead_address();
    auto conn = t::Connection::open(dead, {}, 2s);
    CHECK_FALSE(conn.connected());
    CHECK(conn.error().find("refused") != std::string::npos);
}

TEST_CASE("200 concurrent clients are all echoed and the server sees them at once") {
    t::TcpEchoServer echo;
    std::vector<std::string> messages;
    for (int i = 0; i < 200; ++i) messages.push_back("message " + std::to_string(i) + "\n");
    std::vector<std::string> failures;
    auto replies = t::echo_concurrently(echo.address(), messages, failures, 10s);
    CHECK(failures.empty());
    CHECK(replies == messages);
    CHECK(echo.peak_connections() == 200);
}

namespace {

// A stand-in for skjold: writes a ready file like skjold's, logs to stderr, and on SIGTERM exits
// with $FAKE_EXIT (or ignores SIGTERM when FAKE_EXIT is "ignore"). FAKE_EARLY=N exits N before ready.
constexpr std::string_view kFakeSkjold = R"(#!/bin/sh
ready=""
while [ $# -gt 0 ]; do [ "$1" = --ready-file ] && ready=$2; shift; done
echo "fake skjold starting" >&2
[ -n "$FAKE_EARLY" ] && { echo "fake skjold: early exit" >&2; exit "$FAKE_EARLY"; }
if [ "$FAKE_EXIT" = ignore ]; then trap '' TERM; else trap 'echo "fake skjold: bye" >&2; exit ${FAKE_EXIT:-0}' TERM; fi
printf 'fe - 127.0.0.1:41234\nfe web [::1]:40000\nother - 127.0.0.1:1\n' > "$ready.tmp" && mv "$ready.tmp" "$ready"
while :; do sleep 0.02; done
)";

std::string write_fake(const t::Tempdir& dir, std::string_view env) {
    auto script = dir.write("fake-skjold", "#!/bin/sh\n" + std::string(env) + "\nexec /bin/sh " +
                                               (dir / "fake.sh").string() + " \"$@\"\n");
    dir.write("fake.sh", kFakeSkjold);
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    return script;
}

}  // namespace

TEST_CASE("Skjold::start waits for the ready file and reads every listener from it") {
    t::Tempdir dir;
    auto lb = t::Skjold::start_program(write_fake(dir, ""), {"-f", "x.cfg", "--ready-file", dir / "ready"});
    CHECK(lb.listeners().size() == 3);
    CHECK(lb.listener("fe").to_string() == "127.0.0.1:41234");
    CHECK(lb.listener("fe", "web").to_string() == "[::1]:40000");
    CHECK(lb.listener("other").port() == 1);
    CHECK(lb.running());
    CHECK(lb.stop() == 0);
    CHECK(lb.log().find("fake skjold: bye") != std::string::npos);
}

TEST_CASE("Skjold::stop returns the exit code skjold chose") {
    t::Tempdir dir;
    auto lb = t::Skjold::start_program(write_fake(dir, "export FAKE_EXIT=3"), {"--ready-file", dir / "ready"});
    CHECK(lb.stop() == 3);
}

TEST_CASE("Skjold::start fails the test, with the log, when the process exits first" * doctest::expected_failures(1)) {
    t::Tempdir dir;
    auto lb = t::Skjold::start_program(write_fake(dir, "export FAKE_EARLY=1"), {"--ready-file", dir / "ready"});
}

TEST_CASE("Skjold::stop kills a process that ignores SIGTERM and fails the test" * doctest::expected_failures(1)) {
    t::Tempdir dir;
    auto lb = t::Skjold::start_program(write_fake(dir, "export FAKE_EXIT=ignore"), {"--ready-file", dir / "ready"});
    auto started = std::chrono::steady_clock::now();
    CHECK(lb.stop(300ms) == -1);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK_FALSE(lb.running());
}

TEST_CASE("a Skjold left running is killed by its destructor, which fails the test" * doctest::expected_failures(1)) {
    t::Tempdir dir;
    pid_t pid = 0;
    {
        auto lb = t::Skjold::start_program(write_fake(dir, ""), {"--ready-file", dir / "ready"});
        pid = lb.pid();
    }
    CHECK(kill(pid, 0) != 0);  // gone (and reaped: not even a zombie answers)
}

TEST_CASE("run_process captures output and exit codes and kills what runs too long") {
    auto r = t::run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
    CHECK(r.exit_code == 3);
    CHECK(r.out == "out\n");
    CHECK(r.err == "err\n");
    auto slow = t::run_process({"/bin/sleep", "5"}, 200ms);
    CHECK(slow.exit_code == -1);
}

TEST_CASE("the io_uring probe agrees with this machine") {
    // Not an assertion about skjold: it documents, in the test log, whether the tcp suite can run.
    auto why = t::io_uring_unavailable_reason();
    MESSAGE("io_uring: " << (why.empty() ? std::string("available") : why));
    CHECK(why.find("failed") == std::string::npos);  // ENOSYS/EPERM are skips; anything else is a probe bug
}

TEST_SUITE_END();
