// The simple prefix matcher, checked against a linear scan over real pattern files.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "geo/ip_matcher.hh"
#include "geo/pattern_file.hh"

using namespace skjold::geo;

namespace {

IpAddr ip(const char* s) { return *parse_ip(s); }

std::vector<Prefix> prefixes(std::initializer_list<const char*> l) {
    std::vector<Prefix> v;
    for (auto s : l) v.push_back(*parse_prefix(s));
    return v;
}

std::string testdata(const char* name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(d != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(d) + "/" + name;
}

bool linear(const std::vector<Prefix>& ps, const IpAddr& a) {
    for (const auto& p : ps)
        if (p.contains(a)) return true;
    return false;
}

}  // namespace

TEST_CASE("an empty matcher contains nothing") {
    IpMatcher m;
    CHECK(m.empty());
    CHECK_FALSE(m.contains(ip("10.0.0.1")));
    CHECK_FALSE(m.contains(ip("::")));
}

TEST_CASE("the matcher finds addresses at both edges of each prefix and nothing outside") {
    auto ps = prefixes({"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "203.0.113.7"});
    IpMatcher m(ps);
    CHECK(m.contains(ip("10.0.0.0")));
    CHECK(m.contains(ip("10.255.255.255")));
    CHECK_FALSE(m.contains(ip("9.255.255.255")));
    CHECK_FALSE(m.contains(ip("11.0.0.0")));
    CHECK(m.contains(ip("192.168.1.255")));
    CHECK_FALSE(m.contains(ip("192.168.2.0")));
    CHECK(m.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
    CHECK_FALSE(m.contains(ip("2001:db9::")));
    CHECK(m.contains(ip("203.0.113.7")));
    CHECK_FALSE(m.contains(ip("203.0.113.8")));
    CHECK(m.contains(ip("::ffff:10.9.9.9")));
}

TEST_CASE("nested, duplicate and adjacent prefixes merge without losing coverage") {
    auto ps = prefixes({"10.0.0.0/24", "10.0.0.0/8", "10.0.0.128/25", "10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/7"});
    IpMatcher m(ps);
    CHECK(m.range_count() == 1);   // 10/8 + 11/8 + 12/7 are contiguous: 10.0.0.0 - 13.255.255.255
    CHECK(m.contains(ip("13.255.255.255")));
    CHECK_FALSE(m.contains(ip("14.0.0.0")));
    CHECK_FALSE(m.contains(ip("9.255.255.255")));
}

TEST_CASE("::/0 covers the whole space including the top address") {
    IpMatcher m(prefixes({"::/0", "ffff::/16"}));
    CHECK(m.range_count() == 1);
    CHECK(m.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    CHECK(m.contains(ip("::")));
    CHECK(m.contains(ip("1.2.3.4")));
}

TEST_CASE("non-contiguous IPv4 masks are matched after the ranges") {
    std::vector<MaskedV4> masked{parse_ip_pattern("20.0.0.1/255.0.255.0")->masked_v4};
    IpMatcher m(prefixes({"10.0.0.0/8"}), masked);
    CHECK(m.contains(ip("20.99.0.5")));
    CHECK_FALSE(m.contains(ip("20.99.1.5")));
    CHECK(m.contains(ip("10.1.1.1")));
}

TEST_CASE("the Norwegian prefix lists: the matcher agrees with a linear scan on 20000 addresses") {
    auto v4 = load_ip_patterns(testdata("no-v4.cidr"));
    auto v6 = load_ip_patterns(testdata("no-v6.cidr"));
    REQUIRE(v4.has_value());
    REQUIRE(v6.has_value());
    CHECK(v4->prefixes.size() == 1213);
    CHECK(v6->prefixes.size() == 460);
    std::vector<Prefix> all = v4->prefixes;
    all.insert(all.end(), v6->prefixes.begin(), v6->prefixes.end());
    IpMatcher m(all);
    CHECK(m.contains(ip("2.148.0.1")));          // 2.148.0.0/14
    CHECK(m.contains(ip("84.48.127.254")));      // 84.48.0.0/17
    CHECK(m.contains(ip("2001:678:f0::1")));     // 2001:678:f0::/48
    CHECK_FALSE(m.contains(ip("8.8.8.8")));
    CHECK_FALSE(m.contains(ip("2001:db8::1")));

    std::mt19937_64 rng(42);
    int inside = 0;
    for (int i = 0; i < 20000; ++i) {
        // Half the probes start from a listed prefix so that both answers are exercised.
        IpAddr a;
        const Prefix& base = all[rng() % all.size()];
        a = base.addr;
        if (i % 2 == 0) {
            for (int k = base.is_v4() ? 12 : 0; k < 16; ++k) a.b[k] = static_cast<std::uint8_t>(rng());
        } else {
            a.b[15] = static_cast<std::uint8_t>(rng());
            a.b[14] ^= static_cast<std::uint8_t>(rng() & 3);
        }
        bool expect = linear(all, a);
        inside += expect;
        REQUIRE_MESSAGE(m.contains(a) == expect, a.to_string());
    }
    CHECK(inside > 1000);
    CHECK(inside < 19000);
}
