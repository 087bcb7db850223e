// The PROXY protocol end to end: `accept-proxy` makes `src` the client behind an L4 balancer, a
// missing, malformed or late header closes the connection, `send-proxy[-v2]` tells the server.
#include <doctest/doctest.h>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

const char* kGeoFront =
    "frontend fe\n"
    "    bind 127.0.0.1:0 accept-proxy\n"
    "    timeout client 300ms\n"
    "    acl is_norway src 84.208.0.0/15 2a02:d140::/29\n"
    "    use_backend primary if is_norway\n"
    "    default_backend cloud\n"
    "backend primary\n"
    "    server p ${P}\n"
    "backend cloud\n"
    "    server c ${C}\n";

// What a client that sends `first` (a PROXY header, or not) reads until the connection ends.
t::Received send_and_read(const t::Address& at, const std::string& first) {
    auto c = t::Connection::open(at);
    REQUIRE(c.connected());
    REQUIRE(c.send_all(first));
    return c.recv_all(3s);
}

std::string v2_tcp6_header(const unsigned char src[16], std::uint16_t sport) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += '\x21';   // v2, PROXY
    h += '\x21';   // TCP over IPv6
    h += '\0';
    h += static_cast<char>(36);
    h.append(reinterpret_cast<const char*>(src), 16);
    h.append(15, '\0');
    h += '\x01';   // dst ::1
    h += static_cast<char>(sport >> 8);
    h += static_cast<char>(sport & 0xFF);
    h += '\0';
    h += static_cast<char>(80);
    return h;
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("accept-proxy: a Norwegian client behind a PROXY v1 header reaches the primary pool") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill(kGeoFront, {{"P", primary.address().to_string()},
                                                                {"C", cloud.address().to_string()}}));
    CHECK(send_and_read(lb.listener("fe"), "PROXY TCP4 84.208.0.1 10.0.0.1 40000 80\r\n").data == "primary");
    CHECK(send_and_read(lb.listener("fe"), "PROXY TCP4 3.3.3.3 10.0.0.1 40000 80\r\n").data == "cloud");
    CHECK(lb.stop() == 0);
}

TEST_CASE("accept-proxy: a PROXY v2 header with an IPv6 client is routed by that client") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill(kGeoFront, {{"P", primary.address().to_string()},
                                                                {"C", cloud.address().to_string()}}));
    const unsigned char no[16] = {0x2a, 0x02, 0xd1, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const unsigned char other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(send_and_read(lb.listener("fe"), v2_tcp6_header(no, 5000)).data == "primary");
    CHECK(send_and_read(lb.listener("fe"), v2_tcp6_header(other, 5000)).data == "cloud");
    CHECK(lb.stop() == 0);
}

TEST_CASE("accept-proxy: the bytes after the header reach the server unchanged") {
    t::Tempdir dir;
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0 accept-proxy\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server e ${E}\n",
                                                    {{"E", echo.address().to_string()}}));
    auto payload = t::random_bytes(100000, 7);
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    auto got = c.exchange("PROXY TCP4 84.208.0.1 10.0.0.1 40000 80\r\n" + payload, 10s);
    CHECK(got.data.size() == payload.size());
    CHECK(got.data == payload);
    CHECK(lb.stop() == 0);
}

TEST_CASE("accept-proxy: a missing, malformed or late header closes the connection unserved") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill(kGeoFront, {{"P", primary.address().to_string()},
                                                                {"C", cloud.address().to_string()}}));
    for (const char* bad : {"GET / HTTP/1.0\r\n\r\n", "PROXY TCP4 84.208.0.1 10.0.0.1 40000\r\n",
                            "PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n"}) {
        INFO(bad);
        auto got = send_and_read(lb.listener("fe"), bad);
        CHECK(got.data.empty());
        CHECK(got.end != End::timeout);
    }
    // Half a header, then silence: closed once timeout client (300 ms) has passed.
    auto late = send_and_read(lb.listener("fe"), "PROXY TCP4 84.2");
    CHECK(late.data.empty());
    CHECK(late.end != End::timeout);
    CHECK(late.elapsed >= 200ms);
    CHECK(late.elapsed < 2500ms);
    CHECK(primary.accepted() == 0);
    CHECK(cloud.accepted() == 0);
    CHECK(lb.stop() == 0);
    // Refusals are logged at warning, rate-limited: the first burst gives one line, the later
    // ones say how many were not shown.
    auto log = lb.log();
    CHECK(log.find("frontend fe: refused a connection from 127.0.0.1") != std::string::npos);
    CHECK(log.find("more since the last such line") != std::string::npos);
}

TEST_CASE("send-proxy tells the server who the client is; send-proxy-v2 in binary") {
    t::Tempdir dir;
    t::TcpEchoServer echo1, echo2;
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0 name plain\n"
                                                    "    bind 127.0.0.1:0 name chained accept-proxy\n"
                                                    "    use_backend v2 if { dst_port 1 }\n"
                                                    "    default_backend v1\n"
                                                    "backend v1\n"
                                                    "    server e ${E1} send-proxy\n"
                                                    "backend v2\n"
                                                    "    server e ${E2} send-proxy-v2\n",
                                                    {{"E1", echo1.address().to_string()},
                                                     {"E2", echo2.address().to_string()}}));
    {
        auto c = t::Connection::open(lb.listener("fe", "plain"));
        REQUIRE(c.connected());
        auto got = c.exchange("hello", 5s);
        auto lb_port = std::to_string(lb.listener("fe", "plain").port());
        std::string want_prefix = "PROXY TCP4 127.0.0.1 127.0.0.1 " + std::to_string(c.local().port()) + " " + lb_port + "\r\n";
        CHECK(got.data == want_prefix + "hello");
    }
    {
        // A client announced by an upstream balancer is passed on as that client.
        auto c = t::Connection::open(lb.listener("fe", "chained"));
        REQUIRE(c.connected());
        auto got = c.exchange("PROXY TCP4 84.208.0.1 10.0.0.1 40000 443\r\nhi", 5s);
        CHECK(got.data == "PROXY TCP4 84.208.0.1 10.0.0.1 40000 443\r\nhi");
    }
    {
        auto c = t::Connection::open(lb.listener("fe", "chained"));
        REQUIRE(c.connected());
        auto got = c.exchange("PROXY TCP4 84.208.0.1 10.0.0.1 40000 1\r\nv2", 5s);
        REQUIRE(got.data.size() == 28 + 2);
        CHECK(got.data.substr(0, 12) == std::string("\r\n\r\n\0\r\nQUIT\n", 12));
        CHECK(static_cast<unsigned char>(got.data[13]) == 0x11);                  // TCP over IPv4
        CHECK(got.data.substr(16, 4) == std::string("\x54\xd0\x00\x01", 4));     // 84.208.0.1
        CHECK(got.data.substr(28) == "v2");
    }
    CHECK(lb.stop() == 0);
}
