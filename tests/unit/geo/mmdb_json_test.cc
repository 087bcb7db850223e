// The MaxMind test databases against the JSON they were written from (testdata/mmdb/*.json): every
// network in the JSON looks up to its country through skjold's compiled table, at its first and
// last address and one inside, and libmaxminddb answers the same for those addresses.
#include <doctest/doctest.h>

#include "tests/unit/geo/mini_json.hh"
#include "tests/unit/geo/mmdb_reference.hh"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "geo/mmdb.hh"

using namespace skjold::geo;
using skjold::test::Json;
using skjold::test::MmdbReference;

namespace {

std::string testdata(const std::string& name) {
    const char* root = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(root != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(root) + "/" + name;
}

struct JsonNetwork {
    std::string cidr;        // as written
    Prefix prefix;           // in skjold's address space: ::a.b.c.d/(96+n) is the IPv4 a.b.c.d/n
    std::string country;     // country.iso_code, or MmdbReference::kNone
};

std::vector<JsonNetwork> read_json(const std::string& name) {
    std::ifstream in(testdata("mmdb/" + name + ".json"), std::ios::binary);
    REQUIRE_MESSAGE(in.good(), name);
    std::stringstream text;
    text << in.rdbuf();
    Json doc = Json::parse(text.str());
    REQUIRE(doc.kind == Json::Kind::array);
    std::vector<JsonNetwork> out;
    for (const auto& item : doc.items) {
        REQUIRE(item.kind == Json::Kind::object);
        REQUIRE(item.keys.size() == 1);
        const std::string& cidr = item.keys.front();   // no structured binding: doctest's macros
        const Json& record = item.values.front();      // capture it, which clang 14 cannot
        auto p = parse_prefix(cidr);
        REQUIRE_MESSAGE(p.has_value(), cidr);
        bool v4_compatible = p->len >= 96 && !p->is_v4();
        for (int i = 0; i < 12 && v4_compatible; ++i) v4_compatible = p->addr.b[static_cast<std::size_t>(i)] == 0;
        if (v4_compatible) {   // where an IPv6 tree keeps IPv4: the client is a.b.c.d
            std::uint32_t v4 = 0;
            for (int i = 12; i < 16; ++i) v4 = (v4 << 8) | p->addr.b[static_cast<std::size_t>(i)];
            p->addr = IpAddr::from_v4(v4);
        }
        const Json* cc = record.at({"country", "iso_code"});
        out.push_back({cidr, *p, cc ? cc->str : MmdbReference::kNone});
    }
    return out;
}

IpAddr last_of(const Prefix& p) {
    IpAddr a = p.addr;
    for (unsigned i = p.len; i < 128; ++i) a.b[i / 8] = static_cast<std::uint8_t>(a.b[i / 8] | (0x80u >> (i % 8)));
    return a;
}

IpAddr inside(const Prefix& p, std::mt19937_64& rng) {
    IpAddr a = p.addr;
    for (unsigned i = p.len; i < 128; ++i)
        if (rng() & 1) a.b[i / 8] = static_cast<std::uint8_t>(a.b[i / 8] | (0x80u >> (i % 8)));
    return a;
}

// What the JSON says for `a`: the most specific network holding it (the writer inserts in file
// order, so of two identical networks the later one stands).
const JsonNetwork* owner(const std::vector<JsonNetwork>& nets, const IpAddr& a) {
    const JsonNetwork* best = nullptr;
    for (const auto& n : nets)
        if (n.prefix.contains(a) && (!best || n.prefix.len >= best->prefix.len)) best = &n;
    return best;
}

void check_database(const std::string& name) {
    CAPTURE(name);
    auto nets = read_json(name);
    auto table = load_mmdb_field(testdata("mmdb/" + name + ".mmdb"), "country.iso_code");
    REQUIRE_MESSAGE(table.has_value(), table.error().detail);
    MmdbReference ref(testdata("mmdb/" + name + ".mmdb"));
    std::mt19937_64 rng(17);
    std::size_t probes = 0, own_country = 0, with_country = 0;
    for (const auto& n : nets) {
        CAPTURE(n.cidr);
        with_country += n.country != MmdbReference::kNone;
        for (const IpAddr& a : {n.prefix.addr, last_of(n.prefix), inside(n.prefix, rng)}) {
            CAPTURE(a.to_string());
            const JsonNetwork* o = owner(nets, a);
            REQUIRE(o != nullptr);
            std::string want = o->country;
            own_country += o == &n;
            auto id = table->table.lookup(a);
            std::string ours = id == PrefixTable::kNone ? MmdbReference::kNone : table->values.at(id);
            CHECK(ours == want);
            CHECK(ref.answer(a.to_string(), {"country", "iso_code", nullptr}) == want);
            ++probes;
        }
    }
    MESSAGE(name << ": " << nets.size() << " networks, " << with_country << " with a country, " << probes
                 << " addresses probed");
    CHECK(probes == 3 * nets.size());
    // Most probes land in their own network (a few sit under a more specific one listed too).
    CHECK(own_country * 10 > probes * 9);
}

}  // namespace

TEST_CASE("the JSON of GeoIP2-Country-Test: every network looks up to its country, as in libmaxminddb") {
    check_database("GeoIP2-Country-Test");
}

TEST_CASE("the JSON of GeoLite2-Country-Test: every network looks up to its country, as in libmaxminddb") {
    check_database("GeoLite2-Country-Test");
}

TEST_CASE("the JSON of GeoIP2-City-Test: every network looks up to its country, as in libmaxminddb") {
    check_database("GeoIP2-City-Test");
}

TEST_CASE("the JSON reader keeps the IPv4 networks of an IPv6 tree as IPv4 and reads nested records") {
    auto nets = read_json("GeoIP2-Country-Test");
    CHECK(nets.size() == 345);
    std::size_t v4 = 0;
    for (const auto& n : nets) v4 += n.prefix.is_v4();
    CHECK(v4 > 0);
    CHECK(v4 < nets.size());
    bool found_no = false;
    for (const auto& n : nets)
        if (n.cidr == "2a02:d140::/29") found_no = n.country == "NO";
    CHECK(found_no);
    CHECK(Json::parse(R"({"a":[1,true,null,"\u00e6\ud83d\ude00"]})").at({"a"})->items[3].str == "\xc3\xa6\xf0\x9f\x98\x80");
    CHECK_THROWS(Json::parse("{\"a\":}"));
}
