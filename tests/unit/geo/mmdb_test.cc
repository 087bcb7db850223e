// MaxMind import: the verified lookups of the shared test databases (testdata/README.md), a
// cross-check against libmaxminddb's own lookup, the IPv4 mapping, and broken files.
#include <doctest/doctest.h>

#include "tests/unit/geo/mmdb_reference.hh"
#include "tests/unit/geo/tiny_mmdb.hh"
#include "tests/unit/temp_file.hh"

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include <maxminddb.h>

#include "geo/mmdb.hh"

using namespace skjold::geo;
using skjold::test::TempFile;
using skjold::test::TinyMmdb;

namespace {

std::string testdata(const std::string& name) {
    const char* root = std::getenv("SKJOLD_TESTDATA");
    REQUIRE(root != nullptr);
    return std::string(root) + "/" + name;
}

std::string db_path(const std::string& name) { return testdata("mmdb/" + name + ".mmdb"); }

const std::string kNone = "(none)";

// What skjold's table answers for `ip`.
std::string answer(const ValueTable& t, const std::string& ip) {
    auto a = parse_ip(ip);
    REQUIRE_MESSAGE(a.has_value(), ip);
    auto id = t.table.lookup(*a);
    if (id == PrefixTable::kNone) return kNone;
    REQUIRE(id < t.values.size());
    return t.values[id];
}

ValueTable load(const std::string& name, std::string_view field = "country.iso_code") {
    auto t = load_mmdb_field(db_path(name), field);
    REQUIRE_MESSAGE(t.has_value(), t.error().detail);
    return std::move(*t);
}

using Reference = skjold::test::MmdbReference;

IpAddr plus(IpAddr a, int delta) {   // a + delta (delta = -1 or +1), wrapping
    for (int i = 15; i >= 0; --i) {
        auto before = a.b[i];
        a.b[i] = static_cast<std::uint8_t>(a.b[i] + delta);
        if ((delta > 0 && a.b[i] > before) || (delta < 0 && a.b[i] < before)) break;
    }
    return a;
}

IpAddr last_of(const Prefix& p) {
    IpAddr a = p.addr;
    for (unsigned i = p.len; i < 128; ++i) a.b[i / 8] = static_cast<std::uint8_t>(a.b[i / 8] | (0x80u >> (i % 8)));
    return a;
}

// ::a.b.c.d (not ::ffff:) is where the tree keeps IPv4; skjold never sees such a client address,
// so the cross-check leaves that space out.
bool in_ipv4_compatible_space(const IpAddr& a) {
    for (int i = 0; i < 12; ++i)
        if (a.b[i]) return false;
    return true;
}

// Addresses around every network of the database, plus random ones.
std::vector<std::string> probe_addresses(const MmdbField& f) {
    std::vector<IpAddr> addrs;
    for (const auto& n : f.networks) {
        IpAddr first = n.prefix.addr, last = last_of(n.prefix);
        for (auto a : {first, last, plus(first, -1), plus(last, 1)}) addrs.push_back(a);
    }
    std::mt19937_64 rng(4);
    for (int i = 0; i < 300; ++i) {
        addrs.push_back(IpAddr::from_v4(static_cast<std::uint32_t>(rng())));
        IpAddr v6;
        for (auto& b : v6.b) b = static_cast<std::uint8_t>(rng());
        v6.b[0] = static_cast<std::uint8_t>(i % 2 ? 0x2a : 0x20);   // 2a02::/16 holds the Nordic test networks
        if (i % 4 == 1) v6.b[1] = 0x02;
        addrs.push_back(v6);
    }
    std::vector<std::string> out;
    for (const auto& a : addrs)
        if (!in_ipv4_compatible_space(a)) out.push_back(a.to_string());
    return out;
}

}  // namespace

TEST_CASE("GeoIP2-Country-Test.mmdb answers every verified lookup of the test data README") {
    auto t = load("GeoIP2-Country-Test");
    const std::pair<const char*, const char*> expected[] = {
        {"2.125.160.216", "GB"}, {"81.2.69.142", "GB"},    {"89.160.20.112", "SE"}, {"89.160.20.128", "SE"},
        {"216.160.83.56", "US"}, {"149.101.100.1", "US"},  {"67.43.156.1", "BT"},   {"175.16.199.1", "CN"},
        {"217.65.48.1", "GI"},   {"214.78.120.1", "US"},   {"2a02:cf40::1", "NO"},  {"2a02:d140::1", "NO"},
        {"2a02:d8c0::1", "NO"},  {"2a02:e340::1", "NO"},   {"2a02:fc80::1", "NO"},  {"2a02:d040::1", "SE"},
        {"2a02:d200::1", "FI"},  {"2a02:d4c0::1", "FI"},   {"2a02:fc40::1", "DK"},  {"2a02:fd80::1", "DK"},
        {"2001:220::1", "KR"},   {"2001:220::", "SE"},     {"2001:218::1", "JP"},   {"2001:250::1", "CN"},
        {"2001:480:10::1", "US"}, {"::ffff:89.160.20.112", "SE"},
    };
    for (auto e : expected) CHECK_MESSAGE(answer(t, e.first) == e.second, e.first);
    for (const char* ip : {"214.1.1.1", "1.1.1.1", "8.8.8.8", "2001:db8::1"}) CHECK_MESSAGE(answer(t, ip) == kNone, ip);
    CHECK(t.networks == 342);   // 345 networks in the tree; 214.1.1.0/24 and two others have no country

    auto reg = load("GeoIP2-Country-Test", "registered_country.iso_code");
    const std::pair<const char*, const char*> registered[] = {
        {"2.125.160.216", "FR"}, {"81.2.69.142", "US"},  {"89.160.20.112", "DE"}, {"216.160.83.56", "GB"},
        {"67.43.156.1", "RO"},   {"2a02:d140::1", "NO"}, {"2001:220::", "DE"},    {"::ffff:89.160.20.112", "DE"},
    };
    for (auto e : registered) CHECK_MESSAGE(answer(reg, e.first) == e.second, e.first);
}

TEST_CASE("GeoLite2-Country-Test.mmdb answers the README's lookups, including where it differs from GeoIP2") {
    auto t = load("GeoLite2-Country-Test");
    const std::pair<const char*, const char*> expected[] = {
        {"2.125.160.216", "GB"}, {"81.2.69.142", "GB"},   {"89.160.20.112", "SE"}, {"89.160.20.128", "SE"},
        {"216.160.83.56", "US"}, {"67.43.156.1", "BT"},   {"217.65.48.1", "GI"},   {"2a02:cf40::1", "NO"},
        {"2a02:d140::1", "NO"},  {"2a02:d8c0::1", "NO"},  {"2a02:e340::1", "NO"},  {"2a02:fc80::1", "NO"},
        {"2a02:d040::1", "SE"},  {"2a02:d200::1", "FI"},  {"2a02:d4c0::1", "FI"},  {"2a02:fc40::1", "DK"},
        {"2a02:fd80::1", "DK"},  {"2001:218::1", "JP"},   {"2001:250::1", "CN"},   {"2001:480:10::1", "US"},
        {"2001:220::", "KR"},    {"::ffff:89.160.20.112", "SE"},
    };
    for (auto e : expected) CHECK_MESSAGE(answer(t, e.first) == e.second, e.first);
    for (const char* ip : {"149.101.100.1", "175.16.199.1", "214.78.120.1", "1.1.1.1", "2001:db8::1"})
        CHECK_MESSAGE(answer(t, ip) == kNone, ip);
    CHECK(t.networks == 242);   // of 244 networks in the tree
}

TEST_CASE("GeoIP2-City-Test.mmdb gives countries and the city name Boxford") {
    auto t = load("GeoIP2-City-Test");
    const std::pair<const char*, const char*> expected[] = {
        {"2.125.160.216", "GB"}, {"81.2.69.142", "GB"},  {"89.160.20.112", "SE"}, {"216.160.83.56", "US"},
        {"149.101.100.1", "US"}, {"67.43.156.1", "BT"},  {"175.16.199.1", "CN"},  {"214.78.120.1", "US"},
        {"2a02:cf40::1", "NO"},  {"2a02:d140::1", "NO"}, {"2a02:d8c0::1", "NO"},  {"2a02:e340::1", "NO"},
        {"2a02:fc80::1", "NO"},  {"2a02:d040::1", "SE"}, {"2a02:d200::1", "FI"},  {"2a02:fc40::1", "DK"},
        {"2001:220::", "KR"},
    };
    for (auto e : expected) CHECK_MESSAGE(answer(t, e.first) == e.second, e.first);
    for (const char* ip : {"217.65.48.1", "50.114.0.1"}) CHECK_MESSAGE(answer(t, ip) == kNone, ip);
    CHECK(t.networks == 246);   // of 250 networks in the tree (the source JSON lists one twice)

    auto city = load("GeoIP2-City-Test", "city.names.en");
    CHECK(answer(city, "2.125.160.216") == "Boxford");
    CHECK(answer(city, "::ffff:2.125.160.216") == "Boxford");
    CHECK(answer(city, "2a02:d140::1") == kNone);
    auto name = load("GeoIP2-City-Test", "country.names.en");
    CHECK(answer(name, "2a02:d140::1") == "Norway");
    auto continent = load("GeoIP2-City-Test", "continent.code");
    CHECK(answer(continent, "2a02:d140::1") == "EU");
}

TEST_CASE("the walk lists each network once, IPv4 in the ::ffff:0:0/96 space, sorted as the tree holds them") {
    auto f = read_mmdb_field(db_path("GeoIP2-Country-Test"), "country.iso_code");
    REQUIRE(f.has_value());
    CHECK(f->database_type == "GeoIP2-Country");
    CHECK(f->ip_version == 6);
    CHECK(f->networks.size() == 345);   // as many as the source JSON: the aliases add nothing
    CHECK(f->with_value() == 342);
    std::size_t v4 = 0;
    for (std::size_t i = 0; i < f->networks.size(); ++i) {
        const auto& p = f->networks[i].prefix;
        v4 += p.is_v4();
        if (i) CHECK(f->networks[i - 1].prefix < p);
        CHECK_FALSE((p.addr.b[0] == 0x20 && p.addr.b[1] == 0x02));   // nothing from the 2002::/16 alias
    }
    CHECK(v4 > 0);
    CHECK(f->networks.front().prefix.to_string() == "2.125.160.216/29");   // the lowest IPv4 network
}

TEST_CASE("for every network edge and random addresses, the table answers as MMDB_lookup_string") {
    for (const char* name : {"GeoIP2-Country-Test", "GeoLite2-Country-Test", "GeoIP2-City-Test"}) {
        for (const char* field : {"country.iso_code", "registered_country.iso_code"}) {
            auto f = read_mmdb_field(db_path(name), field);
            REQUIRE(f.has_value());
            auto t = compile_mmdb_field(*f);
            std::string path_text = field;
            std::vector<std::string> keys = {path_text.substr(0, path_text.find('.')), "iso_code"};
            std::vector<const char*> path = {keys[0].c_str(), keys[1].c_str(), nullptr};
            Reference ref(db_path(name));
            auto addrs = probe_addresses(*f);
            CHECK(addrs.size() > 1000);
            int mismatches = 0, found = 0;
            for (const auto& ip : addrs) {
                auto want = ref.answer(ip, path);
                found += want != kNone;
                if (answer(t, ip) != want) {
                    ++mismatches;
                    MESSAGE(name, " ", field, " ", ip, ": table ", answer(t, ip), " libmaxminddb ", want);
                }
                if (auto a = parse_ip(ip); a && a->is_v4()) {   // the alias path too
                    CHECK(ref.answer("::ffff:" + ip, path) == want);
                }
            }
            CHECK(mismatches == 0);
            CHECK(found > 300);
        }
    }
}

TEST_CASE("missing, truncated and random files fail with the file name and libmaxminddb's message") {
    auto missing = load_mmdb_field("/nonexistent/skjold/x.mmdb", "country.iso_code");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == skjold::core::Errc::not_found);
    CHECK(missing.error().detail.find("/nonexistent/skjold/x.mmdb: ") == 0);

    std::ifstream in(db_path("GeoIP2-Country-Test"), std::ios::binary);
    std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(whole.size() == 19492);

    TempFile truncated(whole.substr(0, whole.size() / 2), "truncated.mmdb");
    auto r = load_mmdb_field(truncated.path, "country.iso_code");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail == truncated.path + ": " + MMDB_strerror(MMDB_INVALID_METADATA_ERROR));

    std::mt19937 rng(7);
    std::string noise(20000, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    TempFile random(noise, "random.mmdb");
    r = load_mmdb_field(random.path, "country.iso_code");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail.find(random.path + ": ") == 0);

    // Bytes flipped in the search tree and data: fail cleanly or load, never crash or hang.
    for (int round = 0; round < 200; ++round) {
        std::string damaged = whole;
        for (int k = 0; k < 8; ++k) damaged[rng() % 15000] = static_cast<char>(rng());
        TempFile f(damaged, "damaged.mmdb");
        auto d = load_mmdb_field(f.path, "country.iso_code");
        if (!d) CHECK(d.error().detail.find(f.path + ": ") == 0);
    }
}

TEST_CASE("a field must be a dotted path to a value; a path no record has gives an empty table") {
    auto map = load_mmdb_field(db_path("GeoIP2-Country-Test"), "country");
    REQUIRE_FALSE(map.has_value());
    CHECK(map.error().detail.find("field 'country' is a map") != std::string::npos);
    for (const char* bad : {"", "country..iso_code", ".country", "country."}) {
        auto r = load_mmdb_field(db_path("GeoIP2-Country-Test"), bad);
        CHECK_FALSE(r.has_value());
    }
    auto none = load("GeoIP2-Country-Test", "no.such.field");
    CHECK(none.networks == 0);
    CHECK(answer(none, "2a02:d140::1") == kNone);
    auto anycast = load("GeoIP2-Country-Test", "traits.is_anycast");
    CHECK(answer(anycast, "214.1.1.1") == "true");
}

namespace {

std::array<std::uint8_t, 16> v6(std::initializer_list<std::uint8_t> head) {
    std::array<std::uint8_t, 16> a{};
    std::copy(head.begin(), head.end(), a.begin());
    return a;
}

std::array<std::uint8_t, 16> v4_in_v6_tree(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                                           bool mapped = false) {
    std::array<std::uint8_t, 16> x{};
    if (mapped) x[10] = x[11] = 0xff;
    x[12] = a, x[13] = b, x[14] = c, x[15] = d;
    return x;
}

}  // namespace

TEST_CASE("an IPv4-only database maps directly into ::ffff:0:0/96") {
    TinyMmdb db(4);
    db.add(v6({10}), 8, "NO");
    db.add(v6({192, 168, 1}), 24, "SE");
    TempFile file(db.bytes(), "v4.mmdb");
    auto f = read_mmdb_field(file.path, "country.iso_code");
    REQUIRE_MESSAGE(f.has_value(), f.error().detail);
    CHECK(f->ip_version == 4);
    REQUIRE(f->networks.size() == 2);
    CHECK(f->networks[0].prefix.to_string() == "10.0.0.0/8");
    CHECK(f->networks[1].prefix.to_string() == "192.168.1.0/24");
    auto t = compile_mmdb_field(*f);
    CHECK(answer(t, "10.200.3.4") == "NO");
    CHECK(answer(t, "::ffff:10.200.3.4") == "NO");
    CHECK(answer(t, "192.168.1.255") == "SE");
    CHECK(answer(t, "192.168.2.1") == kNone);
    CHECK(answer(t, "::a00:1") == kNone);   // not an IPv4 client address
    Reference ref(file.path);
    for (const char* ip : {"10.200.3.4", "192.168.1.255", "192.168.2.1", "11.0.0.0"})
        CHECK(answer(t, ip) == ref.answer(ip, {"country", "iso_code", nullptr}));
}

TEST_CASE("aliases back to the IPv4 subtree are not walked twice; a real ::ffff:0:0/96 subtree is ignored") {
    TinyMmdb db(6);
    db.add(v4_in_v6_tree(10, 0, 0, 0), 96 + 8, "NO");
    db.add(v6({0x2a, 0x02, 0xd1, 0x40}), 29, "NO");
    auto v4_root = db.node_at(v4_in_v6_tree(0, 0, 0, 0), 96);
    db.put(v6({0x20, 0x02}), 16, {TinyMmdb::Rec::node, v4_root});                  // 6to4 alias
    db.add(v4_in_v6_tree(10, 0, 0, 0, true), 96 + 16, "XX");                        // a real subtree, not an alias
    TempFile file(db.bytes(), "aliases.mmdb");
    auto f = read_mmdb_field(file.path, "country.iso_code");
    REQUIRE_MESSAGE(f.has_value(), f.error().detail);
    REQUIRE(f->networks.size() == 2);
    CHECK(f->networks[0].prefix.to_string() == "10.0.0.0/8");
    CHECK(f->networks[1].prefix.to_string() == "2a02:d140::/29");
    auto t = compile_mmdb_field(*f);
    CHECK(answer(t, "10.0.0.1") == "NO");
    CHECK(answer(t, "::ffff:10.0.0.1") == "NO");
    CHECK(answer(t, "2002:a00:1::") == kNone);
}

TEST_CASE("a record above ::/96 holds every IPv4 address too, as libmaxminddb answers") {
    TinyMmdb db(6);
    db.add(v6({0x00}), 1, "AA");   // ::/1
    TempFile file(db.bytes(), "wide.mmdb");
    auto f = read_mmdb_field(file.path, "country.iso_code");
    REQUIRE_MESSAGE(f.has_value(), f.error().detail);
    REQUIRE(f->networks.size() == 2);
    CHECK(f->networks[0].prefix.to_string() == "::/1");
    CHECK(f->networks[1].prefix.to_string() == "0.0.0.0/0");
    auto t = compile_mmdb_field(*f);
    Reference ref(file.path);
    for (const char* ip : {"1.2.3.4", "255.255.255.255", "2001:db8::1", "8000::1"})
        CHECK_MESSAGE(answer(t, ip) == ref.answer(ip, {"country", "iso_code", nullptr}), ip);
}

TEST_CASE("a search tree with a cycle or a pointer past the data section is reported as corrupt") {
    TinyMmdb cyclic(4);
    auto n = cyclic.add(v6({10}), 8, "NO");
    cyclic.node(n)[1] = {TinyMmdb::Rec::node, 0};   // back to the root: an endless tree
    TempFile f1(cyclic.bytes(), "cycle.mmdb");
    auto r = read_mmdb_field(f1.path, "country.iso_code");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail.find(f1.path + ": ") == 0);
    CHECK(r.error().detail.find("corrupt database") != std::string::npos);

    TinyMmdb wild(4);
    auto m = wild.add(v6({10}), 8, "NO");
    wild.node(m)[1] = {TinyMmdb::Rec::raw, 0xFFFFFF};
    TempFile f2(wild.bytes(), "wild.mmdb");
    r = read_mmdb_field(f2.path, "country.iso_code");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail.find("invalid record") != std::string::npos);
}
