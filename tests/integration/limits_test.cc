// Limits and timeouts a client can observe: frontend maxconn holds extra clients in the backlog,
// timeout connect gives up on a server that never answers the handshake, timeout tunnel
// replaces client/server inactivity, and the leastconn/source balancers' choices.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <set>
#include <unistd.h>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

// A listening socket that never accepts, with its backlog filled: further SYNs are dropped,
// so a connect to it hangs until the connecting side gives up.
struct BlackholeServer {
    int fd = -1;
    std::vector<t::Connection> fillers;
    t::Address addr;
    BlackholeServer() {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(listen(fd, 0) == 0);
        addr = t::Address::local_of(fd);
        // Backlog 0 still queues one or two handshakes; fill it with short-timeout clients.
        for (int i = 0; i < 3; ++i) fillers.push_back(t::Connection::open(addr, {}, 300ms));
    }
    ~BlackholeServer() {
        fillers.clear();
        close(fd);
    }
};

std::string config_with(std::string_view extra_defaults, std::string_view body,
                        std::initializer_list<std::pair<std::string_view, std::string>> vars) {
    return "global\n    nbthread 1\n" + std::string(t::kTcpDefaults) + std::string(extra_defaults) + t::fill(body, vars);
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("frontend maxconn keeps an extra client waiting until a session ends") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, config_with("", "frontend fe\n"
                                                         "    bind 127.0.0.1:0\n"
                                                         "    maxconn 1\n"
                                                         "    default_backend be\n"
                                                         "backend be\n"
                                                         "    server s ${S}\n",
                                                    {{"S", echo.address().to_string()}}));
    auto first = t::Connection::open(lb.listener("fe"));
    REQUIRE(first.connected());
    REQUIRE(first.send_all("one"));
    CHECK(first.recv_n(3, 2s).data == "one");
    // The second client's handshake completes in the kernel backlog, but skjold does not take
    // it while the first session holds the only slot.
    auto second = t::Connection::open(lb.listener("fe"));
    REQUIRE(second.connected());
    REQUIRE(second.send_all("two"));
    auto early = second.recv_n(3, 400ms);
    CHECK(early.end == End::timeout);
    CHECK(early.data.empty());
    CHECK(echo.accepted() == 1);
    first.close();
    auto later = second.recv_n(3, 3s);
    CHECK(later.data == "two");
    CHECK(echo.accepted() == 2);
    CHECK(lb.stop() == 0);
}

TEST_CASE("timeout connect gives up on a server that never completes the handshake") {
    t::Tempdir dir;
    BlackholeServer hole;
    auto lb = t::start_with_config(dir, config_with("", "frontend fe\n"
                                                         "    bind 127.0.0.1:0\n"
                                                         "    default_backend be\n"
                                                         "backend be\n"
                                                         "    timeout connect 200ms\n"
                                                         "    retries 0\n"
                                                         "    server s ${S}\n",
                                                    {{"S", hole.addr.to_string()}}));
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    auto got = c.recv_all(5s);
    INFO("ended by " << got.end << " after " << got.elapsed.count() << " ms");
    CHECK(got.data.empty());
    CHECK(got.end != End::timeout);           // closed by skjold, not left hanging
    CHECK(got.elapsed >= 150ms);
    CHECK(got.elapsed < 2s);
    CHECK(lb.stop() == 0);
}

TEST_CASE("timeout tunnel replaces the client and server inactivity timeouts") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, config_with("", "frontend fe\n"
                                                         "    bind 127.0.0.1:0\n"
                                                         "    timeout client 150ms\n"
                                                         "    default_backend be\n"
                                                         "backend be\n"
                                                         "    timeout server 150ms\n"
                                                         "    timeout tunnel 3s\n"
                                                         "    server s ${S}\n",
                                                    {{"S", echo.address().to_string()}}));
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    REQUIRE(c.send_all("a"));
    CHECK(c.recv_n(1, 2s).data == "a");
    usleep(600 * 1000);   // well past client/server timeouts, well within the tunnel timeout
    REQUIRE(c.send_all("b"));
    CHECK(c.recv_n(1, 2s).data == "b");
    CHECK(lb.stop() == 0);
}

TEST_CASE("leastconn sends a new client to the server with fewer open sessions") {
    t::Tempdir dir;
    t::TcpAnswerServer a("a", t::TcpServer::Then::echo), b("b", t::TcpServer::Then::echo);
    auto lb = t::start_with_config(dir, config_with("", "frontend fe\n"
                                                         "    bind 127.0.0.1:0\n"
                                                         "    default_backend be\n"
                                                         "backend be\n"
                                                         "    balance leastconn\n"
                                                         "    server a ${A}\n"
                                                         "    server b ${B}\n",
                                                    {{"A", a.address().to_string()}, {"B", b.address().to_string()}}));
    auto held = t::Connection::open(lb.listener("fe"));
    REQUIRE(held.connected());
    std::string first = held.recv_n(1, 2s).data;
    REQUIRE((first == "a" || first == "b"));
    // While `held` stays open, every new short session goes to the other server.
    std::string other = first == "a" ? "b" : "a";
    for (int i = 0; i < 4; ++i) {
        auto c = t::Connection::open(lb.listener("fe"));
        REQUIRE(c.connected());
        CHECK(c.recv_n(1, 2s).data == other);
        c.close();
        usleep(50 * 1000);   // let skjold see the close before the next pick
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE("balance source keeps each client address on one server") {
    t::Tempdir dir;
    t::TcpAnswerServer a("a"), b("b"), c("c");
    auto lb = t::start_with_config(dir, config_with("", "frontend fe\n"
                                                         "    bind 127.0.0.1:0\n"
                                                         "    default_backend be\n"
                                                         "backend be\n"
                                                         "    balance source\n"
                                                         "    server a ${A}\n"
                                                         "    server b ${B}\n"
                                                         "    server c ${C}\n",
                                                    {{"A", a.address().to_string()}, {"B", b.address().to_string()},
                                                     {"C", c.address().to_string()}}));
    std::set<std::string> seen_overall;
    for (const char* ip : {"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "127.0.0.16"}) {
        std::set<std::string> seen;
        for (int i = 0; i < 4; ++i) {
            auto conn = t::Connection::open(lb.listener("fe"), ip);
            REQUIRE(conn.connected());
            seen.insert(conn.recv_all(2s).data);
        }
        INFO("client " << ip);
        CHECK(seen.size() == 1);
        seen_overall.insert(*seen.begin());
    }
    CHECK(seen_overall.size() >= 2);   // six addresses do not all hash to one of three servers
    CHECK(lb.stop() == 0);
}
