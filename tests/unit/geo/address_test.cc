// Address and pattern parsing, including HAProxy's short forms (verified against HAProxy 2.6.12:
// see the comment at the top of geo/address.cc).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "geo/address.hh"

using namespace skjold::geo;

namespace {

IpAddr ip(const char* s) {
    auto a = parse_ip(s);
    REQUIRE_MESSAGE(a.has_value(), s);
    return *a;
}

IpPattern pat(const char* s, NameLookup l = NameLookup::libc_numeric) {
    auto p = parse_ip_pattern(s, l);
    REQUIRE_MESSAGE(p.has_value(), s);
    return *p;
}

std::string text(const char* s, NameLookup l = NameLookup::libc_numeric) {
    auto p = pat(s, l);
    return p.masked ? p.masked_v4.to_string() : p.prefix.to_string();
}

std::string error_of(const char* s, NameLookup l = NameLookup::libc_numeric) {
    auto p = parse_ip_pattern(s, l);
    REQUIRE_MESSAGE(!p.has_value(), s);
    return p.error().detail;
}

}  // namespace

TEST_CASE("IPv4 addresses are stored IPv4-mapped and print in dotted form") {
    IpAddr a = ip("10.1.2.3");
    CHECK(a.is_v4());
    CHECK(a.v4() == 0x0a010203u);
    CHECK(a.to_string() == "10.1.2.3");
    CHECK(a == ip("::ffff:10.1.2.3"));
    CHECK(IpAddr::from_v4(0x7f000001u).to_string() == "127.0.0.1");
}

TEST_CASE("IPv6 addresses keep their 16 bytes and print compressed") {
    IpAddr a = ip("2001:DB8:0:0::1");
    CHECK_FALSE(a.is_v4());
    CHECK(a.to_string() == "2001:db8::1");
    CHECK_FALSE(ip("::10.1.2.3").is_v4());   // IPv4-compatible is not mapped (HAProxy's v6tov4)
}

TEST_CASE("parse_ip is strict: no short forms, no leading zeros, no masks") {
    CHECK_FALSE(parse_ip("10.12").has_value());
    CHECK_FALSE(parse_ip("1.2.3.04").has_value());
    CHECK_FALSE(parse_ip("10.0.0.0/8").has_value());
    CHECK_FALSE(parse_ip("").has_value());
    CHECK_FALSE(parse_ip("example.com").has_value());
}

TEST_CASE("from_sockaddr maps sockaddr_in and keeps mapped sockaddr_in6 equal to it") {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(0xc0a80001u);
    auto a = IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&in));
    REQUIRE(a.has_value());
    CHECK(a->to_string() == "192.168.0.1");
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:192.168.0.1", &in6.sin6_addr);
    CHECK(IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&in6)) == a);
    sockaddr un{};
    un.sa_family = AF_UNIX;
    CHECK_FALSE(IpAddr::from_sockaddr(&un).has_value());
}

TEST_CASE("a bare IPv4 address is a /32 and CIDR prefixes lose their host bits") {
    CHECK(text("1.2.3.4") == "1.2.3.4/32");
    CHECK(text("10.1.2.3/8") == "10.0.0.0/8");
    CHECK(text("0.0.0.0/0") == "0.0.0.0/0");
    CHECK(pat("10.0.0.0/8").prefix.len == 96 + 8);
}

TEST_CASE("HAProxy short forms are read the way glibc's inet_aton reads them") {
    CHECK(text("10.12") == "10.0.0.12/32");
    CHECK(text("192.168.1") == "192.168.0.1/32");
    CHECK(text("10") == "0.0.0.10/32");
    CHECK(text("010.1") == "8.0.0.1/32");          // octal part
    CHECK(text("1.2.3.04") == "1.2.3.4/32");       // leading zero: octal 4
    CHECK(text("1.2.3.010") == "1.2.3.8/32");
    CHECK(text("10.256") == "10.0.1.0/32");        // last part fills the remaining 24 bits
    CHECK(text("4294967295") == "255.255.255.255/32");
}

TEST_CASE("192.168.1/24 is 192.168.0.0/24 as in HAProxy, not 192.168.1.0/24") {
    Prefix p = pat("192.168.1/24").prefix;
    CHECK(p.to_string() == "192.168.0.0/24");
    CHECK(p.contains(ip("192.168.0.77")));
    CHECK_FALSE(p.contains(ip("192.168.1.1")));
    CHECK(text("192.168.1/22") == "192.168.0.0/22");
}

TEST_CASE("short forms that inet_aton refuses, and names, are errors") {
    CHECK(error_of("09.1") == "'09.1' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.4.5") == "'1.2.3.4.5' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("4294967296") == "'4294967296' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("10.12.") == "'10.12.' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("10..1") == "'10..1' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("0x0a.1").find("skjold does not resolve names") != std::string::npos);   // DNS in HAProxy
    CHECK(error_of("localhost").find("skjold does not resolve names") != std::string::npos);
    CHECK(error_of("www.example.com/24").find("skjold does not resolve names") != std::string::npos);
}

TEST_CASE("-n (NameLookup::none) refuses the short forms like HAProxy with PAT_MF_NO_DNS") {
    CHECK(error_of("10.12", NameLookup::none) == "'10.12' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.04", NameLookup::none) == "'1.2.3.04' is not a valid IPv4 or IPv6 address");
    CHECK(text("10.1.2.3/8", NameLookup::none) == "10.0.0.0/8");
}

TEST_CASE("IPv4 masks: dotted or a bit count, as str2mask reads them") {
    CHECK(text("10.1.2.3/255.255.0.0") == "10.1.0.0/16");
    CHECK(text("10.1.2.3/255.255.255.255") == "10.1.2.3/32");
    CHECK(text("10.1.2.3/0.0.0.0") == "0.0.0.0/0");
    CHECK(text("10.1.2.3/+8") == "10.0.0.0/8");    // strtol accepts a sign
    CHECK(text("10.1.2.3/-0") == "0.0.0.0/0");
    CHECK(error_of("1.2.3.4/33") == "'1.2.3.4/33' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.4/") == "'1.2.3.4/' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.4/255.255") == "'1.2.3.4/255.255' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.4/8x") == "'1.2.3.4/8x' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("1.2.3.4/-1") == "'1.2.3.4/-1' is not a valid IPv4 or IPv6 address");
}

TEST_CASE("a non-contiguous IPv4 mask is kept as a masked pattern matching IPv4 only") {
    IpPattern p = pat("20.0.0.1/255.0.255.0");
    REQUIRE(p.masked);
    CHECK(p.masked_v4.to_string() == "20.0.0.0/255.0.255.0");
    CHECK(p.masked_v4.contains(ip("20.7.0.1")));
    CHECK(p.masked_v4.contains(ip("::ffff:20.9.0.200")));
    CHECK_FALSE(p.masked_v4.contains(ip("20.7.1.1")));
    CHECK_FALSE(p.masked_v4.contains(ip("::20.7.0.1")));
    auto pre = parse_prefix("20.0.0.1/255.0.255.0");
    REQUIRE_FALSE(pre.has_value());
    CHECK(pre.error().detail == "'20.0.0.1/255.0.255.0': a non-contiguous mask is not allowed here");
}

TEST_CASE("IPv6 prefixes: /len up to 128, host bits dropped, mapped forms stay IPv4") {
    CHECK(text("2001:db8::1") == "2001:db8::1/128");
    CHECK(text("2001:db8:ffff::/32") == "2001:db8::/32");
    CHECK(text("::/0") == "::/0");
    CHECK(text("2001:db8::/+48") == "2001:db8::/48");
    CHECK(text("::ffff:10.0.0.0/104") == "10.0.0.0/8");
    CHECK(text("::ffff:1.2.3.4/24") == "::/24");   // HAProxy: an IPv6 /24, not an IPv4 one
    CHECK(error_of("::1/129") == "'::1/129' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("::1/") == "'::1/' is not a valid IPv4 or IPv6 address");
    CHECK(error_of("fe80::1%eth0") == "'fe80::1%eth0' is not a valid IPv4 or IPv6 address");
}

TEST_CASE("an IPv4-mapped IPv6 client matches an IPv4 prefix and an IPv4 client a mapped IPv6 prefix") {
    Prefix ten = *parse_prefix("10.0.0.0/8");
    CHECK(ten.contains(ip("::ffff:10.1.2.3")));
    CHECK(ten.contains(ip("10.200.0.1")));
    CHECK_FALSE(ten.contains(ip("11.0.0.1")));
    CHECK_FALSE(ten.contains(ip("::10.1.2.3")));
    Prefix mapped = *parse_prefix("::ffff:11.0.0.0/104");
    CHECK(mapped.contains(ip("11.2.3.4")));
    Prefix all_v4 = *parse_prefix("0.0.0.0/0");
    CHECK(all_v4.contains(ip("203.0.113.9")));
    CHECK_FALSE(all_v4.contains(ip("2001:db8::1")));
    CHECK(parse_prefix("::/0")->contains(ip("203.0.113.9")));
}

TEST_CASE("Prefix::contains honours lengths that are not a multiple of 8") {
    Prefix p = *parse_prefix("84.48.0.0/17");
    CHECK(p.contains(ip("84.48.127.255")));
    CHECK_FALSE(p.contains(ip("84.48.128.0")));
    Prefix v6 = *parse_prefix("2a02:cf40::/29");
    CHECK(v6.contains(ip("2a02:cf47:ffff::1")));
    CHECK_FALSE(v6.contains(ip("2a02:cf48::1")));
}
