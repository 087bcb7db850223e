#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proxy/proxy_protocol.hh"

using namespace skjold;
using proxy::ProxyHeader;
using proxy::ProxyParse;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

ProxyParse parse(const std::string& s, ProxyHeader& h) {
    const char* why = nullptr;
    return proxy::parse_proxy_header(bytes(s), h, why);
}

}  // namespace

TEST_CASE("a PROXY v1 TCP4 header gives the client's address and its length, leaving the payload") {
    std::string hdr = "PROXY TCP4 84.208.0.1 10.0.0.1 56324 443\r\n";
    ProxyHeader h;
    REQUIRE(parse(hdr + "GET / HTTP/1.1\r\n", h) == ProxyParse::ok);
    CHECK(h.version == 1);
    CHECK(h.length == hdr.size());
    CHECK(h.has_addresses);
    CHECK(h.src.to_string() == "84.208.0.1");
    CHECK(h.dst.to_string() == "10.0.0.1");
    CHECK(h.src_port == 56324);
    CHECK(h.dst_port == 443);
}

TEST_CASE("a PROXY v1 TCP6 header and an UNKNOWN header parse") {
    ProxyHeader h;
    REQUIRE(parse("PROXY TCP6 2a02:d140::1 2001:db8::2 1000 80\r\n", h) == ProxyParse::ok);
    CHECK(h.src.to_string() == "2a02:d140::1");
    REQUIRE(parse("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", h) == ProxyParse::ok);
    CHECK_FALSE(h.has_addresses);
}

TEST_CASE("every prefix of a valid header asks for more bytes, never errors") {
    std::string v1 = "PROXY TCP4 84.208.0.1 10.0.0.1 56324 443\r\n";
    std::vector<std::uint8_t> v2buf(proxy::kMaxProxyOut);
    auto v4 = *geo::parse_ip("84.208.0.1");
    auto n2 = proxy::build_proxy_v2(v2buf, true, v4, 1, v4, 2);
    std::string v2(v2buf.begin(), v2buf.begin() + static_cast<long>(n2));
    for (const std::string& full : {v1, v2}) {
        for (std::size_t n = 0; n < full.size(); ++n) {
            ProxyHeader h;
            INFO("prefix of " << n << " bytes");
            CHECK(parse(full.substr(0, n), h) == ProxyParse::need_more);
        }
    }
}

TEST_CASE("malformed PROXY headers are errors with a reason") {
    for (const char* bad : {"GET / HTTP/1.1\r\n\r\n", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
                            "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n",
                            "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
                            "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"}) {
        ProxyHeader h;
        const char* why = nullptr;
        INFO(bad);
        CHECK(proxy::parse_proxy_header(bytes(bad), h, why) == ProxyParse::error);
        CHECK(why != nullptr);
    }
    std::string long_line = "PROXY TCP4 " + std::string(120, '1');
    ProxyHeader h;
    CHECK(parse(long_line, h) == ProxyParse::error);   // no CRLF within 107 bytes
}

TEST_CASE("PROXY v2 headers: PROXY over IPv4 and IPv6, LOCAL, TLVs skipped, bad version refused") {
    std::vector<std::uint8_t> buf(proxy::kMaxProxyOut);
    auto a = *geo::parse_ip("2a02:d140::1");
    auto b = *geo::parse_ip("2001:db8::2");
    std::size_t n = proxy::build_proxy_v2(buf, true, a, 4000, b, 443);
    CHECK(n == 52);
    ProxyHeader h;
    const char* why = nullptr;
    REQUIRE(proxy::parse_proxy_header({buf.data(), n}, h, why) == ProxyParse::ok);
    CHECK(h.version == 2);
    CHECK(h.length == 52);
    CHECK(h.src == a);
    CHECK(h.dst == b);
    CHECK(h.src_port == 4000);
    CHECK(h.dst_port == 443);

    // Add a 7-byte TLV after the IPv4 addresses: the length covers it and it is skipped.
    auto v4a = *geo::parse_ip("84.208.0.1");
    n = proxy::build_proxy_v2(buf, true, v4a, 1, v4a, 2);
    REQUIRE(n == 28);
    std::vector<std::uint8_t> with_tlv(buf.begin(), buf.begin() + 28);
    for (int x : {0x04, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64}) with_tlv.push_back(static_cast<std::uint8_t>(x));
    with_tlv[15] = 12 + 7;
    with_tlv.push_back('X');   // payload
    REQUIRE(proxy::parse_proxy_header(with_tlv, h, why) == ProxyParse::ok);
    CHECK(h.length == 35);
    CHECK(h.src == v4a);

    n = proxy::build_proxy_v2(buf, false, a, 0, b, 0);
    REQUIRE(proxy::parse_proxy_header({buf.data(), n}, h, why) == ProxyParse::ok);
    CHECK_FALSE(h.has_addresses);   // LOCAL

    n = proxy::build_proxy_v2(buf, true, v4a, 1, v4a, 2);
    buf[12] = 0x31;   // version 3
    CHECK(proxy::parse_proxy_header({buf.data(), n}, h, why) == ProxyParse::error);
}

TEST_CASE("built v1 headers read back as the same connection, TCP6 when an address is IPv6") {
    std::vector<std::uint8_t> buf(proxy::kMaxProxyOut);
    auto c = *geo::parse_ip("127.0.0.1");
    auto s6 = *geo::parse_ip("::1");
    std::size_t n = proxy::build_proxy_v1(buf, true, c, 40000, c, 8080);
    CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n)) == "PROXY TCP4 127.0.0.1 127.0.0.1 40000 8080\r\n");
    n = proxy::build_proxy_v1(buf, true, c, 1, s6, 2);
    CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n)) == "PROXY TCP6 ::ffff:127.0.0.1 ::1 1 2\r\n");
    n = proxy::build_proxy_v1(buf, false, c, 1, c, 2);
    CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n)) == "PROXY UNKNOWN\r\n");
    std::vector<std::uint8_t> small(10);
    CHECK(proxy::build_proxy_v1(small, true, c, 1, c, 2) == 0);
}
