// mode tcp data path, as a client sees it: bytes intact, many clients at once, half-close,
// retries onto a live server, idle timeouts.
#include <doctest/doctest.h>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

// frontend fe -> backend be with the given server lines.
std::string frontend_to(std::string_view backend_body, std::string_view extra_defaults = {}) {
    return std::string(t::kTcpDefaults) + std::string(extra_defaults) +
           "frontend fe\n"
           "    bind 127.0.0.1:0\n"
           "    default_backend be\n"
           "backend be\n" +
           std::string(backend_body);
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("1 MiB of random bytes comes back intact through mode tcp") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    server echo ${ECHO}\n",
                                                            {{"ECHO", echo.address().to_string()}})));
    auto data = t::random_bytes(1 << 20, 20240601);
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto reply = conn.exchange(data, 20s);
    INFO("client: " << conn.error());
    CHECK(reply.end == End::eof);
    REQUIRE(reply.data.size() == data.size());
    CHECK(reply.data == data);  // exact, byte for byte
    CHECK(echo.bytes_received() == data.size());
    CHECK(lb.stop() == 0);
}

TEST_CASE("a listen section proxies like a frontend with its own servers") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("listen both\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    server echo ${ECHO}\n",
                                                    {{"ECHO", echo.address().to_string()}}));
    auto conn = t::Connection::open(lb.listener("both"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto reply = conn.exchange("through a listen section\n");
    CHECK(reply.end == End::eof);
    CHECK(reply.data == "through a listen section\n");
    CHECK(lb.stop() == 0);
}

TEST_CASE("an IPv6 listener on ::1 proxies to an IPv4 server") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("listen v6\n"
                                                    "    bind [::1]:0\n"
                                                    "    server echo ${ECHO}\n",
                                                    {{"ECHO", echo.address().to_string()}}));
    auto at = lb.listener("v6");
    CHECK(at.family() == AF_INET6);
    CHECK(at.host() == "::1");
    auto conn = t::Connection::open(at);
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    CHECK(conn.exchange("over IPv6\n").data == "over IPv6\n");
    CHECK(lb.stop() == 0);
}

TEST_CASE("200 concurrent connections are all served") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    server echo ${ECHO}\n",
                                                            {{"ECHO", echo.address().to_string()}})));
    std::vector<std::string> messages;
    for (int i = 0; i < 200; ++i) messages.push_back("client " + std::to_string(i) + " says hello\n");
    std::vector<std::string> failures;
    auto replies = t::echo_concurrently(lb.listener("fe"), messages, failures, 30s);
    std::string why;
    for (std::size_t i = 0; i < failures.size() && i < 10; ++i) why += failures[i] + "\n";
    INFO(failures.size() << " failures, first ones:\n" << why);
    CHECK(failures.empty());
    std::size_t intact = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) intact += replies[i] == messages[i];
    CHECK(intact == 200);
    // Every client kept its connection open until all had their echo: the backend saw 200 at once.
    CHECK(echo.peak_connections() == 200);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a client that half-closes still receives the whole reply") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    server echo ${ECHO}\n",
                                                            {{"ECHO", echo.address().to_string()}})));
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto data = t::random_bytes(64 * 1024, 7);
    REQUIRE_MESSAGE(conn.send_all(data), conn.error());
    REQUIRE(conn.shutdown_write());
    // The echo server answers our FIN with its own only after the last byte: seeing EOF here
    // means skjold carried the FIN to the server and the reply back after it.
    auto reply = conn.recv_all(10s);
    CHECK(reply.end == End::eof);
    CHECK(reply.data.size() == data.size());
    CHECK(reply.data == data);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server that speaks first and closes is heard, then the client sees EOF") {
    t::Tempdir dir;
    t::TcpAnswerServer banner("220 ready\r\n");
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    server s ${S}\n",
                                                            {{"S", banner.address().to_string()}})));
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    auto got = conn.recv_all(5s);  // the client never sends a byte
    CHECK(got.end == End::eof);
    CHECK(got.data == "220 ready\r\n");
    conn.close();  // until the client closes too, the session is in flight and SIGTERM waits for it
    CHECK(lb.stop() == 0);
}

TEST_CASE("a dead server is retried and the other server answers") {
    t::Tempdir dir;
    t::TcpAnswerServer alive("alive\n");
    auto dead = t::dead_address();
    // timeout connect 200ms keeps HAProxy's turn-around delay between retries, min(connect, 1s), short.
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    balance roundrobin\n"
                                                            "    retries 3\n"
                                                            "    option redispatch\n"
                                                            "    timeout connect 200ms\n"
                                                            "    server dead ${DEAD}\n"
                                                            "    server alive ${ALIVE}\n",
                                                            {{"DEAD", dead.to_string()},
                                                             {"ALIVE", alive.address().to_string()}})));
    // Round-robin sends at least one of any two consecutive clients to the dead server first.
    for (int i = 0; i < 4; ++i) {
        CAPTURE(i);
        auto conn = t::Connection::open(lb.listener("fe"));
        REQUIRE_MESSAGE(conn.connected(), conn.error());
        auto got = conn.recv_all(10s);
        CHECK(got.end == End::eof);
        CHECK(got.data == "alive\n");
    }
    CHECK(alive.accepted() == 4);
    CHECK(lb.stop() == 0);
}

TEST_CASE("timeout client closes an idle session within a bounded window") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, frontend_to(t::fill("    timeout server 30s\n"
                                                            "    server echo ${ECHO}\n",
                                                            {{"ECHO", echo.address().to_string()}}),
                                                    "    timeout client 200ms\n"));
    auto conn = t::Connection::open(lb.listener("fe"));
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    // Activity resets the timer: three exchanges 100 ms apart span 300 ms > 200 ms.
    for (int i = 0; i < 3; ++i) {
        REQUIRE(conn.send_all("ping"));
        auto echo_back = conn.recv_n(4, 2s);
        REQUIRE_MESSAGE(echo_back.data == "ping", "round " << i << " ended with " << echo_back.end);
        if (i < 2) {
            auto quiet = conn.recv_n(1, 100ms);
            REQUIRE_MESSAGE(quiet.end == End::timeout, "closed while active, after " << quiet.elapsed.count() << " ms");
        }
    }
    auto idle = conn.recv_all(5s);
    CHECK(idle.data.empty());
    CHECK(idle.end != End::timeout);  // EOF or reset: skjold closed the session
    CHECK(idle.elapsed >= 150ms);
    CHECK(idle.elapsed <= 2000ms);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
