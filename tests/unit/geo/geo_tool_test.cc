// `skjold geo lookup` / `skjold geo export`: what an operator sees, and export fed back to src -f.
#include <doctest/doctest.h>

#include "tests/unit/temp_file.hh"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "geo/geo_tool.hh"
#include "geo/pattern_file.hh"

using namespace skjold::geo;
using skjold::test::TempFile;

namespace {

std::string testdata(const std::string& name) {
    const char* root = std::getenv("SKJOLD_TESTDATA");
    REQUIRE(root != nullptr);
    return std::string(root) + "/" + name;
}

const std::string kCountry = "mmdb/GeoIP2-Country-Test.mmdb";

struct Run {
    int rc = -1;
    std::string out, err;
};

Run run(std::vector<std::string> args) {
    args.insert(args.begin(), "geo");
    std::ostringstream out, err;
    Run r;
    r.rc = geo_tool_run(args, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
}

Prefix pfx(const char* s) {
    auto p = parse_prefix(s);
    REQUIRE_MESSAGE(p.has_value(), s);
    return *p;
}

}  // namespace

TEST_CASE("geo lookup prints the matching prefix and value of every source, or -") {
    auto r = run({"lookup", "--db", testdata(kCountry), "--list", testdata("no-v6.cidr"), "2a02:d140::1", "1.1.1.1",
                  "214.1.1.1", "::ffff:89.160.20.112"});
    CHECK(r.rc == 0);
    CHECK(r.err.empty());
    CHECK(lines(r.out) == std::vector<std::string>{
                             "2a02:d140::1  db GeoIP2-Country-Test.mmdb: 2a02:d140::/29 NO",
                             "2a02:d140::1  list no-v6.cidr: 2a02:d140::/29",
                             "1.1.1.1  db GeoIP2-Country-Test.mmdb: -",
                             "1.1.1.1  list no-v6.cidr: -",
                             "214.1.1.1  db GeoIP2-Country-Test.mmdb: 214.1.1.0/24 (no country.iso_code)",
                             "214.1.1.1  list no-v6.cidr: -",
                             "89.160.20.112  db GeoIP2-Country-Test.mmdb: 89.160.20.112/28 SE",
                             "89.160.20.112  list no-v6.cidr: -",
                         });
}

TEST_CASE("geo lookup names the longest list prefix and honours --field") {
    TempFile list("10.0.0.0/8\n10.1.0.0/16\n# comment\n192.0.0.9/255.0.0.255\n", "mixed.txt");
    auto r = run({"lookup", "--list", list.path, "10.1.2.3", "10.2.0.1", "192.7.0.9"});
    CHECK(r.rc == 0);
    CHECK(lines(r.out) == std::vector<std::string>{
                             "10.1.2.3  list mixed.txt: 10.1.0.0/16",
                             "10.2.0.1  list mixed.txt: 10.0.0.0/8",
                             "192.7.0.9  list mixed.txt: 192.0.0.9/255.0.0.255",
                         });
    r = run({"lookup", "--field", "registered_country.iso_code", "--db", testdata(kCountry), "2.125.160.216"});
    CHECK(r.rc == 0);
    CHECK(r.out == "2.125.160.216  db GeoIP2-Country-Test.mmdb: 2.125.160.216/29 FR\n");
}

TEST_CASE("geo export NO gives the nine IPv6 /29s, no IPv4, and src -f reads the result back") {
    auto r = run({"export", "--db", testdata(kCountry), "--country", "NO"});
    REQUIRE(r.rc == 0);
    auto out = lines(r.out);
    REQUIRE(out.size() == 10);
    CHECK(out[0].rfind("# ", 0) == 0);
    CHECK(std::vector<std::string>(out.begin() + 1, out.end()) ==
          std::vector<std::string>{"2a02:cf40::/29", "2a02:d140::/29", "2a02:d8c0::/29", "2a02:e340::/29", "2a02:e580::/29",
                                   "2a02:ed00::/29", "2a02:f300::/29", "2a02:f480::/29", "2a02:fc80::/29"});

    TempFile file(r.out, "geoip_no.txt");
    auto set = load_ip_patterns(file.path);
    REQUIRE(set.has_value());
    REQUIRE(set->prefixes.size() == 9);
    auto matches = [&](const char* ip) {
        auto a = parse_ip(ip);
        REQUIRE(a.has_value());
        for (const auto& p : set->prefixes)
            if (p.contains(*a)) return true;
        return false;
    };
    CHECK(matches("2a02:d140::1"));
    CHECK(matches("2a02:fc80::1"));
    CHECK_FALSE(matches("2a02:d040::1"));   // SE
    CHECK_FALSE(matches("89.160.20.112"));

    r = run({"export", "--db", testdata(kCountry), "--country", "NO", "--ipv4"});
    CHECK(r.rc == 0);
    CHECK(lines(r.out).size() == 1);   // the comment only
    CHECK(r.err.find("warning: no network") != std::string::npos);

    r = run({"export", "--db", testdata(kCountry), "--country", "se", "--ipv4"});
    CHECK(r.rc == 0);
    auto se = lines(r.out);
    CHECK(std::vector<std::string>(se.begin() + 1, se.end()) ==
          std::vector<std::string>{"89.160.20.112/28", "89.160.20.128/25"});
    r = run({"export", "--db", testdata(kCountry), "--country", "SE", "--ipv6"});
    CHECK(r.rc == 0);
    CHECK(r.out.find("89.160.") == std::string::npos);
    CHECK(r.out.find("2a02:d040::/29") != std::string::npos);
}

TEST_CASE("merging joins sibling halves, drops nested prefixes, and stops at the IPv4 boundary") {
    CHECK(merge_prefixes({pfx("10.0.0.128/25"), pfx("10.0.0.0/25")}) == std::vector<Prefix>{pfx("10.0.0.0/24")});
    CHECK(merge_prefixes({pfx("10.0.0.0/25"), pfx("10.0.1.0/25")}) ==
          std::vector<Prefix>{pfx("10.0.0.0/25"), pfx("10.0.1.0/25")});
    CHECK(merge_prefixes({pfx("10.0.0.0/24"), pfx("10.0.1.0/24"), pfx("10.0.2.0/23"), pfx("10.0.2.7/32")}) ==
          std::vector<Prefix>{pfx("10.0.0.0/22")});
    CHECK(merge_prefixes({pfx("0.0.0.0/1"), pfx("128.0.0.0/1")}) == std::vector<Prefix>{pfx("0.0.0.0/0")});
    CHECK(merge_prefixes({pfx("::fffe:0:0/96"), pfx("0.0.0.0/0")}).size() == 2);
    CHECK(merge_prefixes({pfx("2a02:d140::/29"), pfx("2a02:d148::/29")}) == std::vector<Prefix>{pfx("2a02:d140::/28")});
}

TEST_CASE("geo usage errors exit 2 and a missing file exits 1 naming it") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {"frobnicate"},
             {"lookup", "1.2.3.4"},
             {"lookup", "--db"},
             {"lookup", "--list", "x.txt"},
             {"lookup", "--list", "x.txt", "not-an-address"},
             {"lookup", "--bogus", "1.2.3.4"},
             {"export", "--country", "NO"},
             {"export", "--db", "x.mmdb"},
             {"export", "--db", "x.mmdb", "--country", "NO", "--ipv4", "--ipv6"},
             {"export", "--db", "x.mmdb", "--db", "y.mmdb", "--country", "NO"},
         }) {
        auto r = run(args);
        CHECK_MESSAGE(r.rc == 2, args.size());
        CHECK(r.err.find("usage: skjold geo") != std::string::npos);
        CHECK(r.out.empty());
    }
    auto r = run({"lookup", "--db", "/nonexistent/skjold/GeoLite2-Country.mmdb", "1.2.3.4"});
    CHECK(r.rc == 1);
    CHECK(r.err.find("/nonexistent/skjold/GeoLite2-Country.mmdb") != std::string::npos);
    r = run({"lookup", "--list", "/nonexistent/skjold/no.txt", "1.2.3.4"});
    CHECK(r.rc == 1);
    CHECK(r.err.find("/nonexistent/skjold/no.txt") != std::string::npos);
    r = run({"export", "--db", "/nonexistent/skjold/GeoLite2-Country.mmdb", "--country", "NO"});
    CHECK(r.rc == 1);
    CHECK(r.err.find("/nonexistent/skjold/GeoLite2-Country.mmdb") != std::string::npos);
    TempFile bad("10.0.0.0/8\nnot an address\n", "bad.txt");
    r = run({"lookup", "--list", bad.path, "1.2.3.4"});
    CHECK(r.rc == 1);
    CHECK(r.err.find(bad.path + ":2") != std::string::npos);
}
