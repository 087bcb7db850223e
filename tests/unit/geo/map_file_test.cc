// map_ip() map files: the line rules, longest-prefix values, and every kind of error.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "geo/map_file.hh"

using namespace skjold::geo;

namespace {

// A map file in /tmp, removed at the end of the test.
struct TempMap {
    std::string path;
    explicit TempMap(const std::string& text) {
        char tmpl[] = "/tmp/skjold-map-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path, std::ios::binary) << text;
    }
    ~TempMap() { std::remove(path.c_str()); }
};

std::string value_of(const ValueTable& t, const char* addr) {
    auto v = t.table.lookup(*parse_ip(addr));
    return v == PrefixTable::kNone ? std::string("(none)") : t.values.at(v);
}

}  // namespace

TEST_CASE("a map file maps each address to the value of its most specific prefix") {
    TempMap m("# countries\n"
              "\n"
              "10.0.0.0/8 NO\n"
              "  10.1.0.0/16\tSE\r\n"
              "10.1.2.3 DK\n"
              "2001:db8::/32 FI\n"
              "2001:db8:1::/48 two words  \n"
              "192.0.2.0/24 first\n"
              "192.0.2.0/24 last\n"
              "  # indented\n");
    auto t = load_ip_map(m.path);
    // The last line's key "#" is not an address: HAProxy reads "  # x" as a pattern too.
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().detail == m.path + ":10: '#' is not a valid IPv4 or IPv6 address");

    TempMap ok("# countries\n"
               "\n"
               "10.0.0.0/8 NO\n"
               "  10.1.0.0/16\tSE\r\n"
               "10.1.2.3 DK\n"
               "2001:db8::/32 FI\n"
               "2001:db8:1::/48 two words  \n"
               "192.0.2.0/24 first\n"
               "192.0.2.0/24 last\n"
               "198.51.100.0/24\n");
    auto t2 = load_ip_map(ok.path);
    REQUIRE(t2.has_value());
    CHECK(t2->networks == 8);
    CHECK(value_of(*t2, "10.200.0.1") == "NO");
    CHECK(value_of(*t2, "10.1.9.9") == "SE");
    CHECK(value_of(*t2, "10.1.2.3") == "DK");
    CHECK(value_of(*t2, "::ffff:10.1.2.3") == "DK");
    CHECK(value_of(*t2, "2001:db8:ffff::1") == "FI");
    CHECK(value_of(*t2, "2001:db8:1::1") == "two words");   // inner spaces kept, trailing dropped
    CHECK(value_of(*t2, "192.0.2.1") == "last");             // duplicate key: the last line wins
    CHECK(value_of(*t2, "198.51.100.1") == "");              // a key alone: empty value
    CHECK(value_of(*t2, "11.0.0.1") == "(none)");
    CHECK(t2->values.size() == 8);   // one id per distinct value ("first" is kept, unused)
}

TEST_CASE("map keys are strict: short forms and non-contiguous masks are errors naming FILE:LINE") {
    TempMap m("10.0.0.0/8 NO\n"
              "10.12 SE\n"
              "192.168.1/22 DK\n"
              "10.0.0.1/255.0.255.0 FI\n"
              "2001:db8::/129 X\n"
              "example.com Y\n");
    auto t = load_ip_map(m.path);
    REQUIRE_FALSE(t.has_value());
    const std::string& d = t.error().detail;
    CHECK(d.find(m.path + ":2: '10.12' is not a valid IPv4 or IPv6 address") != std::string::npos);
    CHECK(d.find(m.path + ":3: '192.168.1/22' is not a valid IPv4 or IPv6 address") != std::string::npos);
    CHECK(d.find(m.path + ":4: '10.0.0.1/255.0.255.0': a non-contiguous mask is not supported in a map_ip file") !=
          std::string::npos);
    CHECK(d.find(m.path + ":5: ") != std::string::npos);
    CHECK(d.find(m.path + ":6: ") != std::string::npos);
    CHECK(d.find(m.path + ":1:") == std::string::npos);
}

TEST_CASE("more than ten malformed lines are counted, not all listed") {
    std::string text;
    for (int i = 0; i < 15; ++i) text += "bad" + std::to_string(i) + " X\n";
    TempMap m(text);
    auto t = load_ip_map(m.path);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().detail.find(m.path + ":10: 'bad9'") != std::string::npos);
    CHECK(t.error().detail.find(":11:") == std::string::npos);
    CHECK(t.error().detail.find("; and 5 more malformed lines") != std::string::npos);
}

TEST_CASE("a missing map file is an error naming it") {
    auto t = load_ip_map("/nonexistent/countries.map");
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().detail == "failed to open map file </nonexistent/countries.map>: No such file or directory");
}
