// geo::TableStats (the sizes `show info` reports) and `skjold geo stats`, including the bound the
// issue sets: the world IPv4 + IPv6 lists stay under 64 MiB.
#include <doctest/doctest.h>

#include "tests/unit/temp_file.hh"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "geo/geo_tool.hh"
#include "geo/map_file.hh"
#include "geo/mmdb.hh"
#include "geo/table_stats.hh"

using namespace skjold::geo;
using skjold::test::TempFile;

namespace {

std::string testdata(const std::string& name) {
    const char* root = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(root != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(root) + "/" + name;
}

Prefix pfx(const char* s) {
    auto p = parse_prefix(s);
    REQUIRE_MESSAGE(p.has_value(), s);
    return *p;
}

std::string stats_run(std::vector<std::string> args, int& rc, std::string* err_out = nullptr) {
    args.insert(args.begin(), {"geo", "stats"});
    std::ostringstream out, err;
    rc = geo_tool_run(args, out, err);
    if (err_out) *err_out = err.str();
    return out.str();
}

}  // namespace

TEST_CASE("table stats count each table once, by what it holds") {
    std::vector<Prefix> ps = {pfx("10.0.0.0/8"), pfx("192.0.2.0/24"), pfx("2001:db8::/32")};
    IpMatcher m(ps);
    IpMatcher same = m;   // a copy shares the built table
    IpMatcher other(std::vector<Prefix>{pfx("84.208.0.0/13")});
    TableStats st;
    CHECK(st.add(m));
    CHECK_FALSE(st.add(same));
    CHECK(st.add(other));
    CHECK_FALSE(st.add(IpMatcher{}));   // empty: nothing to count
    CHECK(st.tables == 2);
    CHECK(st.prefixes == 4);
    CHECK(st.bytes == m.memory_bytes() + other.memory_bytes());
    CHECK(st.bytes > 0);

    auto fields = st.info_fields();
    REQUIRE(fields.size() == 3);
    CHECK(fields[0].first == "Skjold_geo_tables");
    CHECK(fields[0].second == 2);
    CHECK(fields[1].first == "Skjold_geo_prefixes");
    CHECK(fields[1].second == 4);
    CHECK(fields[2].first == "Skjold_geo_bytes");
    CHECK(fields[2].second == st.bytes);
}

TEST_CASE("non-contiguous masks count as patterns; value tables add their values") {
    MaskedV4 mask{0x0A000001u & 0xFF00FF00u, 0xFF00FF00u};
    IpMatcher only_masked({}, std::vector<MaskedV4>{mask});
    TableStats st;
    CHECK(st.add(only_masked));
    CHECK(st.tables == 1);
    CHECK(st.prefixes == 1);
    CHECK(st.bytes == only_masked.memory_bytes());

    auto v = load_mmdb_field(testdata("mmdb/GeoIP2-Country-Test.mmdb"), "country.iso_code");
    REQUIRE(v.has_value());
    TableStats vs;
    CHECK(vs.add(*v));
    CHECK_FALSE(vs.add(*v));
    CHECK(vs.tables == 1);
    CHECK(vs.prefixes == v->table.size());
    CHECK(vs.bytes > v->table.memory_bytes());   // plus the value strings
    CHECK(vs.bytes < v->table.memory_bytes() + 4096);
}

TEST_CASE("the world IPv4 + IPv6 lists take a few MiB, well under the 64 MiB bound") {
    TableStats st;
    std::vector<ValueTable> keep;
    for (const char* name : {"all-countries-v4.txt", "all-countries-v6.txt"}) {
        auto t = load_ip_map(testdata(name));
        REQUIRE_MESSAGE(t.has_value(), t.error().detail);
        keep.push_back(std::move(*t));
        CHECK(st.add(keep.back()));
    }
    MESSAGE("world lists: " << st.tables << " tables, " << st.prefixes << " prefixes, " << st.bytes << " bytes ("
                            << human_bytes(st.bytes) << ")");
    CHECK(st.prefixes == 172623 + 73723);   // distinct prefixes (the lists repeat a few)
    CHECK(st.bytes > 1u * 1024 * 1024);
    CHECK(st.bytes < 64u * 1024 * 1024);
    CHECK(human_bytes(512) == "512 B");
    CHECK(human_bytes(1536) == "1.5 KiB");
    CHECK(human_bytes(3 * 1024 * 1024) == "3.0 MiB");
}

TEST_CASE("skjold geo stats prints each source's table and the total") {
    int rc = -1;
    auto out = stats_run({"--list", testdata("no-v4.cidr"), "--list", testdata("no-v6.cidr"), "--db",
                          testdata("mmdb/GeoIP2-Country-Test.mmdb")},
                         rc);
    CHECK(rc == 0);
    CHECK(out.find("list no-v4.cidr: 1213 prefixes, ") == 0);
    CHECK(out.find("\nlist no-v6.cidr: 460 prefixes, ") != std::string::npos);
    CHECK(out.find("\ndb GeoIP2-Country-Test.mmdb: 342 prefixes, 46 values of country.iso_code, ") != std::string::npos);
    CHECK(out.find("\ntotal: 3 tables, 2015 prefixes, ") != std::string::npos);

    TempFile map("10.0.0.0/8 NO\n2001:db8::/32 SE\n10.0.0.0/8 DK\n", "small.map");
    out = stats_run({"--map", map.path}, rc);
    CHECK(rc == 0);
    CHECK(out.find("map small.map: 2 prefixes, 3 values, ") == 0);   // values are per line; the table holds 2

    std::string err;
    out = stats_run({}, rc, &err);
    CHECK(rc == 2);
    CHECK(err.find("usage: skjold geo") != std::string::npos);
    out = stats_run({"--list"}, rc, &err);
    CHECK(rc == 2);
    out = stats_run({"--map", "/nonexistent/skjold/world.map"}, rc, &err);
    CHECK(rc == 1);
    CHECK(err.find("/nonexistent/skjold/world.map") != std::string::npos);
    CHECK(out.empty());
}
