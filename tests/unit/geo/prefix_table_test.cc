// The longest-prefix-match table, checked by hand on the edge cases and against brute-force
// references: a linear scan over the real world lists, and a per-length hash probe over a
// million random prefixes per family.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "geo/prefix_table.hh"

using namespace skjold::geo;

namespace {

constexpr std::uint32_t kNone = PrefixTable::kNone;

IpAddr ip(const char* s) {
    auto a = parse_ip(s);
    REQUIRE_MESSAGE(a.has_value(), s);
    return *a;
}

Prefix pfx(const char* s) {
    auto p = parse_prefix(s);
    REQUIRE_MESSAGE(p.has_value(), s);
    return *p;
}

// The layout the hand-written cases build (each runs once per layout: `automatic` gives these
// small tables the multibit layout, `poptrie` forces the compressed one).
PrefixTable::Layout g_layout = PrefixTable::Layout::automatic;
constexpr PrefixTable::Layout kLayouts[] = {PrefixTable::Layout::automatic, PrefixTable::Layout::poptrie};

// Sets g_layout for one pass of a case and puts `automatic` back however the pass ends (a
// failed REQUIRE throws out of it).
struct UseLayout {
    explicit UseLayout(PrefixTable::Layout l) noexcept { g_layout = l; }
    ~UseLayout() { g_layout = PrefixTable::Layout::automatic; }
    UseLayout(const UseLayout&) = delete;
    UseLayout& operator=(const UseLayout&) = delete;
};

const char* layout_name(PrefixTable::Layout l) {
    return l == PrefixTable::Layout::poptrie ? "poptrie" : l == PrefixTable::Layout::multibit ? "multibit" : "automatic";
}

PrefixTable make(std::initializer_list<std::pair<const char*, std::uint32_t>> l) {
    PrefixTable::Builder b;
    b.set_layout(g_layout);
    for (const auto& [s, v] : l) b.add(pfx(s), v);
    return b.build();
}

std::string testdata(const char* name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(d != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(d) + "/" + name;
}

struct World {
    std::vector<Prefix> prefixes;          // file order
    std::vector<std::uint32_t> values;     // country index per line
    std::vector<std::string> countries;
};

World read_world(const char* name) {
    World w;
    std::map<std::string, std::uint32_t> ids;
    std::ifstream in(testdata(name));
    REQUIRE_MESSAGE(in.good(), name);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string cidr, cc;
        ls >> cidr >> cc;
        auto p = parse_prefix(cidr);
        REQUIRE_MESSAGE(p.has_value(), line);
        auto [it, fresh] = ids.emplace(cc, static_cast<std::uint32_t>(w.countries.size()));
        if (fresh) w.countries.push_back(cc);
        w.prefixes.push_back(*p);
        w.values.push_back(it->second);
    }
    return w;
}

// The reference: the longest containing prefix; among identical ones, the last line.
std::uint32_t linear(const World& w, const IpAddr& a) {
    std::uint32_t best = kNone;
    int best_len = -1;
    for (std::size_t i = 0; i < w.prefixes.size(); ++i)
        if (w.prefixes[i].len >= best_len && w.prefixes[i].contains(a)) {
            best_len = w.prefixes[i].len;
            best = w.values[i];
        }
    return best;
}

// An address inside p, with random host bits.
IpAddr inside(const Prefix& p, std::mt19937_64& rng) {
    IpAddr a = p.addr;
    for (unsigned bit = p.len; bit < 128; ++bit)
        if (rng() & 1) a.b[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    return a;
}

Prefix masked(IpAddr a, unsigned len) {
    Prefix p;
    p.len = static_cast<std::uint8_t>(len);
    for (unsigned bit = 0; bit < 128; ++bit)
        if (bit >= len) a.b[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    p.addr = a;
    return p;
}

// The brute-force reference for random tables: one hash map per prefix length, probed from the
// longest length down.
class PerLengthProbe {
public:
    void add(const Prefix& p, std::uint32_t v) { maps_[p.len][key(p.addr)] = v; }   // last add() wins
    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& m : maps_) n += m.size();
        return n;
    }
    std::uint32_t lookup(const IpAddr& a, unsigned min_len) const {
        for (int len = 128; len >= static_cast<int>(min_len); --len) {
            const auto& m = maps_[static_cast<std::size_t>(len)];
            if (m.empty()) continue;
            auto it = m.find(key(masked(a, static_cast<unsigned>(len)).addr));
            if (it != m.end()) return it->second;
        }
        return kNone;
    }

private:
    struct Key {
        std::uint64_t hi, lo;
        bool operator==(const Key&) const = default;
    };
    struct Hash {
        std::size_t operator()(const Key& k) const noexcept {   // splitmix64 finaliser
            std::uint64_t z = k.hi * 0x9E3779B97F4A7C15ull ^ k.lo;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            return static_cast<std::size_t>(z ^ (z >> 31));
        }
    };
    static Key key(const IpAddr& a) {
        Key k{0, 0};
        for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | a.b[static_cast<std::size_t>(i)];
        for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | a.b[static_cast<std::size_t>(i)];
        return k;
    }
    std::unordered_map<Key, std::uint32_t, Hash> maps_[129];
};

}  // namespace

TEST_CASE("an empty or default-constructed table matches nothing") {
    PrefixTable none;
    CHECK(none.lookup(ip("10.0.0.1")) == kNone);
    CHECK(none.lookup(ip("2001:db8::1")) == kNone);
    CHECK(none.size() == 0);
    auto empty = PrefixTable::Builder().build();
    CHECK(empty.lookup(ip("10.0.0.1")) == kNone);
    CHECK(empty.lookup(ip("::")) == kNone);
    CHECK(empty.empty());
}

TEST_CASE("the most specific of nested prefixes wins, whatever the insertion order") {
    for (auto layout : kLayouts) {
        UseLayout use(layout);
        CAPTURE(layout_name(layout));
        auto t = make({{"10.1.2.0/24", 3}, {"10.0.0.0/8", 1}, {"10.1.0.0/16", 2}, {"10.1.2.128/25", 4}});
        CHECK(t.lookup(ip("10.200.0.1")) == 1);
        CHECK(t.lookup(ip("10.1.200.1")) == 2);
        CHECK(t.lookup(ip("10.1.2.1")) == 3);
        CHECK(t.lookup(ip("10.1.2.200")) == 4);
        CHECK(t.lookup(ip("11.0.0.0")) == kNone);
        CHECK(t.lookup(ip("9.255.255.255")) == kNone);
        CHECK(t.size() == 4);

        auto t6 = make({{"2001:db8:1::/48", 2}, {"2001:db8::/32", 1}, {"2001:db8:1:2::/64", 3}});
        CHECK(t6.lookup(ip("2001:db8:ffff::1")) == 1);
        CHECK(t6.lookup(ip("2001:db8:1:ffff::1")) == 2);
        CHECK(t6.lookup(ip("2001:db8:1:2:ffff::1")) == 3);
        CHECK(t6.lookup(ip("2001:db9::")) == kNone);
        auto want = layout == PrefixTable::Layout::poptrie ? PrefixTable::Layout::poptrie : PrefixTable::Layout::multibit;
        CHECK(t.layout(4) == want);
        CHECK(t6.layout(6) == want);
    }
}

TEST_CASE("an identical prefix added twice keeps the last value") {
    for (auto layout : kLayouts) {
        UseLayout use(layout);
        CAPTURE(layout_name(layout));
        auto t = make({{"192.0.2.0/24", 1}, {"198.51.100.0/24", 7}, {"192.0.2.0/24", 2}});
        CHECK(t.lookup(ip("192.0.2.9")) == 2);
        CHECK(t.lookup(ip("198.51.100.9")) == 7);
        CHECK(t.size() == 2);
        auto t6 = make({{"2001:db8::/32", 5}, {"2001:db8::/32", 6}});
        CHECK(t6.lookup(ip("2001:db8::1")) == 6);
        // The same network written differently (host bits set) is the same prefix.
        auto t2 = make({{"10.0.0.0/8", 1}, {"10.9.9.9/8", 2}});
        CHECK(t2.lookup(ip("10.1.1.1")) == 2);
    }
}

TEST_CASE("/0, /32 and /128 prefixes match everything and exactly one address") {
    for (auto layout : kLayouts) {
        UseLayout use(layout);
        CAPTURE(layout_name(layout));
        auto t = make({{"0.0.0.0/0", 1}, {"203.0.113.7/32", 2}, {"::/0", 3}, {"2001:db8::7/128", 4}});
        CHECK(t.lookup(ip("1.2.3.4")) == 1);
        CHECK(t.lookup(ip("255.255.255.255")) == 1);
        CHECK(t.lookup(ip("203.0.113.7")) == 2);
        CHECK(t.lookup(ip("203.0.113.6")) == 1);
        CHECK(t.lookup(ip("203.0.113.8")) == 1);
        CHECK(t.lookup(ip("2001:db8::7")) == 4);
        CHECK(t.lookup(ip("2001:db8::6")) == 3);
        CHECK(t.lookup(ip("2001:db8::8")) == 3);
        CHECK(t.lookup(ip("::")) == 3);
        CHECK(t.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) == 3);

        auto v4only = make({{"0.0.0.0/0", 1}});
        CHECK(v4only.lookup(ip("2001:db8::1")) == kNone);   // an IPv4 /0 is ::ffff:0:0/96, not ::/0
        auto edges = make({{"255.255.255.255/32", 1}, {"0.0.0.0/32", 2}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 3}});
        CHECK(edges.lookup(ip("255.255.255.255")) == 1);
        CHECK(edges.lookup(ip("255.255.255.254")) == kNone);
        CHECK(edges.lookup(ip("0.0.0.0")) == 2);
        CHECK(edges.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) == 3);
        CHECK(edges.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")) == kNone);
    }
}

TEST_CASE("IPv4 prefixes match IPv4-mapped IPv6 addresses and short IPv6 prefixes cover IPv4") {
    for (auto layout : kLayouts) {
        UseLayout use(layout);
        CAPTURE(layout_name(layout));
        auto t = make({{"192.0.2.0/24", 1}});
        CHECK(t.lookup(ip("::ffff:192.0.2.1")) == 1);
        CHECK(t.lookup_v4(0xC0000201u) == 1);
        CHECK(t.lookup(ip("::192.0.2.1")) == kNone);            // IPv4-compatible is not mapped
        CHECK(t.lookup(ip("64:ff9b::192.0.2.1")) == kNone);

        auto mapped = make({{"::ffff:192.0.2.0/120", 5}});       // written as IPv6, it is IPv4 space
        CHECK(mapped.lookup(ip("192.0.2.77")) == 5);

        auto cover = make({{"::/0", 1}, {"::ffff:0:0/96", 2}, {"10.0.0.0/8", 3}});
        CHECK(cover.lookup(ip("10.1.1.1")) == 3);
        CHECK(cover.lookup(ip("11.1.1.1")) == 2);
        CHECK(cover.lookup(ip("2001:db8::1")) == 1);
        auto cover_only = make({{"::/64", 4}, {"::/0", 1}});
        CHECK(cover_only.lookup(ip("11.1.1.1")) == 4);
        CHECK(cover_only.lookup(ip("1::1")) == 1);
        auto not_cover = make({{"::/97", 4}});
        CHECK(not_cover.lookup(ip("11.1.1.1")) == kNone);
    }
}

TEST_CASE("the world lists look up like a linear scan, with their nested and duplicate quirks") {
    for (std::string name : {"all-countries-v4.txt", "all-countries-v6.txt"}) {
        CAPTURE(name);
        World w = read_world(name.c_str());
        PrefixTable::Builder b;
        for (std::size_t i = 0; i < w.prefixes.size(); ++i) b.add(w.prefixes[i], w.values[i]);
        PrefixTable t = b.build();
        MESSAGE(name << ": " << t.size() << " prefixes, " << t.memory_bytes() << " bytes");
        CHECK(t.memory_bytes() < 16u * 1024 * 1024);
        CHECK(t.layout(w.prefixes.front().is_v4() ? 4 : 6) == PrefixTable::Layout::multibit);

        std::mt19937_64 rng(42);
        std::size_t mismatches = 0;
        for (int k = 0; k < 1500; ++k) {
            IpAddr a;
            if (k % 3 == 0) {   // anywhere in the family's space
                a = inside(w.prefixes.front().is_v4() ? pfx("0.0.0.0/0") : pfx("::/0"), rng);
            } else {            // inside a listed prefix (sometimes one inside a nested pair)
                a = inside(w.prefixes[rng() % w.prefixes.size()], rng);
            }
            if (t.lookup(a) != linear(w, a)) {
                ++mismatches;
                MESSAGE("mismatch at " << a.to_string());
            }
        }
        CHECK(mismatches == 0);
    }
    World v4 = read_world("all-countries-v4.txt");
    PrefixTable::Builder b;
    for (std::size_t i = 0; i < v4.prefixes.size(); ++i) b.add(v4.prefixes[i], v4.values[i]);
    auto t = b.build();
    auto cc = [&](const char* a) { auto v = t.lookup(ip(a)); return v == kNone ? std::string("-") : v4.countries[v]; };
    CHECK(cc("182.50.176.1") == "NO");    // 182.50.176.0/20 NO
    CHECK(cc("182.50.184.1") == "AP");    // holds 182.50.184.0/21 AP
    CHECK(cc("103.15.158.1") == "US");    // listed AP then US: the last line wins
    CHECK(cc("148.185.1.1") == "GB");     // EU then GB
    CHECK(cc("::ffff:182.50.184.1") == "AP");
}

TEST_CASE("a million random prefixes per family look up like a per-length probe") {
    for (int family : {4, 6}) {
        CAPTURE(family);
        std::mt19937_64 rng(static_cast<std::uint64_t>(family));
        const unsigned lo = family == 4 ? 96 : 0;
        const std::size_t n = 1'000'000;
        std::vector<Prefix> ps;
        ps.reserve(n);
        PerLengthProbe ref;
        PrefixTable::Builder b;
        for (std::size_t i = 0; i < n; ++i) {
            IpAddr a;
            for (auto& x : a.b) x = static_cast<std::uint8_t>(rng());
            if (family == 4) a = IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
            // Cluster: half the prefixes sit under a few /8s (IPv6: /16s) so they nest and repeat.
            if (i % 2) a.b[lo / 8] = static_cast<std::uint8_t>(rng() % 4);
            // IPv4: every length. IPv6: the lengths around the level boundaries of a 20-bit direct
            // level (then steps of 6) and of small tables, and the world lists' usual lengths (the
            // reference probes each length present, so fewer lengths keep it fast).
            static constexpr unsigned kV6Lens[] = {0,  1,  7,  8,  9,  15, 16, 19, 20, 21, 25, 26, 27,
                                                   29, 31, 32, 33, 38, 44, 47, 48, 56, 62, 63, 64, 65,
                                                   68, 95, 96, 97, 122, 124, 127, 128};
            constexpr unsigned kV6LenCount = sizeof kV6Lens / sizeof kV6Lens[0];
            unsigned len = family == 4 ? lo + static_cast<unsigned>(rng() % 33) : kV6Lens[rng() % kV6LenCount];
            if (i % 3 == 0) len = lo + static_cast<unsigned>(rng() % 9) + (family == 4 ? 16 : 24);
            Prefix p = masked(a, len);
            auto v = static_cast<std::uint32_t>(rng() % 1000);
            b.add(p, v);
            ref.add(p, v);
            ps.push_back(p);
        }
        PrefixTable t = b.build();
        CHECK(t.size() == ref.size());
        MESSAGE("IPv" << family << ": " << t.size() << " distinct prefixes, " << t.memory_bytes() << " bytes");

        const std::size_t lookups = 250'000;   // each costs up to 33 (IPv4) or 34 (IPv6) hash probes
        std::vector<IpAddr> addrs;
        for (std::size_t k = 0; k < lookups; ++k) {
            IpAddr a = inside(ps[rng() % ps.size()], rng);
            if (k % 4 == 0) {
                for (auto& x : a.b) x = static_cast<std::uint8_t>(rng());
                if (family == 4) a = IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
            }
            addrs.push_back(a);
        }
        std::size_t mismatches = 0, found = 0;
        for (const auto& a : addrs) {
            std::uint32_t want = ref.lookup(a, lo);
            found += want != kNone;
            if (t.lookup(a) != want && ++mismatches < 5) MESSAGE("mismatch at " << a.to_string());
        }
        CHECK(mismatches == 0);
        CHECK(found > lookups / 2);
    }
}

TEST_CASE("small tables (a narrow direct level) look up like the per-length probe, in both layouts") {
    std::mt19937_64 rng(99);
    int multibit = 0, poptrie = 0;   // families that took each layout
    for (int round = 0; round < 200; ++round) {
        CAPTURE(round);
        PerLengthProbe ref;
        PrefixTable::Builder b, pb;
        pb.set_layout(PrefixTable::Layout::poptrie);
        std::vector<Prefix> ps;
        const std::size_t n = 1 + rng() % 255;   // direct levels of 2^8 .. 2^11 entries
        for (std::size_t i = 0; i < n; ++i) {
            IpAddr a;
            for (auto& x : a.b) x = static_cast<std::uint8_t>(rng());
            if (rng() & 1) a = IpAddr::from_v4(static_cast<std::uint32_t>(rng() & 0x0FFFFFFFu));
            else a.b[0] &= 0x0F;   // keep IPv6 prefixes close together, so they nest
            unsigned lo = a.is_v4() ? 96 : 0;
            Prefix p = masked(a, lo + static_cast<unsigned>(rng() % (129 - lo)));
            auto v = static_cast<std::uint32_t>(rng() % 50);
            b.add(p, v);
            pb.add(p, v);
            ref.add(p, v);
            ps.push_back(p);
        }
        auto t = b.build();
        auto pt = pb.build();
        CHECK(t.size() == ref.size());
        CHECK(pt.layout(4) == PrefixTable::Layout::poptrie);
        CHECK(pt.layout(6) == PrefixTable::Layout::poptrie);
        for (int family : {4, 6}) {
            multibit += t.layout(family) == PrefixTable::Layout::multibit;
            poptrie += t.layout(family) == PrefixTable::Layout::poptrie;
        }
        for (int k = 0; k < 300; ++k) {
            IpAddr a = inside(ps[rng() % ps.size()], rng);
            std::uint32_t want = ref.lookup(a, 0);
            CHECK(t.lookup(a) == want);
            CHECK(pt.lookup(a) == want);
        }
    }
    MESSAGE(multibit << " families took the multibit layout, " << poptrie << " the poptrie");
    CHECK(multibit > 300);   // 64-byte nodes: small tables fit the multibit budget
}

TEST_CASE("the multibit layout of the world lists plus random nested prefixes looks up like the per-length probe") {
    // A million random addresses per family against the world list with random prefixes of every
    // length added inside listed ones (nesting, duplicates of listed prefixes with other values,
    // the /25../32 and /49../128 that need the deep levels): 20,000 IPv4 and 1,000 IPv6 (more
    // would pass the 15-bit line index and the table would be a poptrie).
    for (std::string name : {"all-countries-v4.txt", "all-countries-v6.txt"}) {
        CAPTURE(name);
        World w = read_world(name.c_str());
        const bool v4 = w.prefixes.front().is_v4();
        const unsigned lo = v4 ? 96 : 0;
        std::mt19937_64 rng(v4 ? 4 : 6);
        PerLengthProbe ref;
        PrefixTable::Builder b, pb;
        pb.set_layout(PrefixTable::Layout::poptrie);
        auto add = [&](const Prefix& p, std::uint32_t v) {
            b.add(p, v);
            pb.add(p, v);
            ref.add(p, v);
        };
        for (std::size_t i = 0; i < w.prefixes.size(); ++i) add(w.prefixes[i], w.values[i]);
        std::vector<Prefix> extra;
        for (int i = 0; i < (v4 ? 20'000 : 1'000); ++i) {
            const Prefix& outer = w.prefixes[rng() % w.prefixes.size()];
            unsigned len = outer.len + static_cast<unsigned>(rng() % (129 - outer.len));
            if (i % 10 == 0) len = outer.len;   // the same prefix again, another value
            Prefix p = masked(inside(outer, rng), len);
            add(p, static_cast<std::uint32_t>(rng() % 300));
            extra.push_back(p);
        }
        if (v4) add(pfx("0.0.0.0/0"), 299);   // a default under everything
        PrefixTable t = b.build();
        PrefixTable pt = pb.build();
        REQUIRE(t.layout(v4 ? 4 : 6) == PrefixTable::Layout::multibit);
        REQUIRE(pt.layout(v4 ? 4 : 6) == PrefixTable::Layout::poptrie);
        CHECK(t.size() == ref.size());
        MESSAGE(name << " + " << extra.size() << ": " << t.memory_bytes() << " bytes multibit, " << pt.memory_bytes() << " poptrie");

        std::size_t mismatches = 0, found = 0;
        for (int k = 0; k < 1'000'000; ++k) {
            IpAddr a;
            switch (k % 4) {
            case 0:   // anywhere
                for (auto& x : a.b) x = static_cast<std::uint8_t>(rng());
                if (v4) a = IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
                break;
            case 1: a = inside(extra[rng() % extra.size()], rng); break;
            default: a = inside(w.prefixes[rng() % w.prefixes.size()], rng); break;
            }
            std::uint32_t want = ref.lookup(a, lo);
            found += want != kNone;
            std::uint32_t got = t.lookup(a), got_pop = pt.lookup(a);
            if ((got != want || got_pop != want) && ++mismatches < 5)
                MESSAGE("mismatch at " << a.to_string() << ": " << got << " / " << got_pop << " want " << want);
        }
        CHECK(mismatches == 0);
        CHECK(found > 700'000);
    }
}

TEST_CASE("values above 15 bits or sparse long prefixes get the poptrie layout, with the same answers") {
    auto big = make({{"10.0.0.0/8", 0x7FFE}, {"2001:db8::/32", 0x7FFE}});
    CHECK(big.layout(4) == PrefixTable::Layout::multibit);   // the largest value a 16-bit entry holds
    CHECK(big.layout(6) == PrefixTable::Layout::multibit);
    CHECK(big.lookup(ip("10.1.1.1")) == 0x7FFE);
    auto bigger = make({{"10.0.0.0/8", 0x7FFF}, {"10.1.0.0/16", 3}, {"2001:db8::/32", PrefixTable::kMaxValue}});
    CHECK(bigger.layout(4) == PrefixTable::Layout::poptrie);
    CHECK(bigger.layout(6) == PrefixTable::Layout::poptrie);
    CHECK(bigger.lookup(ip("10.2.1.1")) == 0x7FFF);
    CHECK(bigger.lookup(ip("10.1.1.1")) == 3);
    CHECK(bigger.lookup(ip("2001:db8::1")) == PrefixTable::kMaxValue);

    // 2,000 random /128s: a 64-byte line per byte below the direct array each, over the budget.
    std::mt19937_64 rng(7);
    PrefixTable::Builder b;
    std::vector<IpAddr> as;
    for (int i = 0; i < 2000; ++i) {
        IpAddr a;
        for (auto& x : a.b) x = static_cast<std::uint8_t>(rng());
        a.b[0] = 0x20;
        b.add(masked(a, 128), static_cast<std::uint32_t>(i));
        as.push_back(a);
    }
    auto t = b.build();
    CHECK(t.layout(6) == PrefixTable::Layout::poptrie);
    CHECK(t.memory_bytes() < 2000u * 1024);   // multibit would need about 2000 * 15 * 64 bytes
    for (int i = 0; i < 2000; ++i) CHECK(t.lookup(as[static_cast<std::size_t>(i)]) == static_cast<std::uint32_t>(i));
}

TEST_CASE("a copied table shares the built memory and outlives the original") {
    PrefixTable copy;
    {
        World w = read_world("all-countries-v6.txt");
        PrefixTable::Builder b;
        for (std::size_t i = 0; i < w.prefixes.size(); ++i) b.add(w.prefixes[i], w.values[i]);
        PrefixTable t = b.build();
        CHECK(b.pending() == 0);
        copy = t;
        CHECK(copy.memory_bytes() == t.memory_bytes());
        CHECK(copy.identity() == t.identity());
        CHECK(copy.lookup(ip("2a02:d140::1")) == t.lookup(ip("2a02:d140::1")));
    }
    CHECK(copy.lookup(ip("2a02:d140::1")) != kNone);
    CHECK(copy.size() == 73723);
    CHECK(PrefixTable().identity() == nullptr);
}

TEST_CASE("a long IPv4 list under few /16s (uncompressed first node level) looks up like the per-length probe") {
    // 12,000 prefixes under 10.0.0.0/9: a 16-bit direct array with at most 128 nodes below it,
    // which the multibit layout keeps uncompressed (the world IPv6 list takes the same path).
    std::mt19937_64 rng(16);
    PerLengthProbe ref;
    PrefixTable::Builder b;
    std::vector<Prefix> ps;
    for (int i = 0; i < 12'000; ++i) {
        IpAddr a = IpAddr::from_v4(0x0A000000u | static_cast<std::uint32_t>(rng() & 0x007FFFFFu));
        Prefix p = masked(a, 96 + 9 + static_cast<unsigned>(rng() % 24));
        auto v = static_cast<std::uint32_t>(rng() % 100);
        b.add(p, v);
        ref.add(p, v);
        ps.push_back(p);
    }
    auto t = b.build();
    REQUIRE(t.layout(4) == PrefixTable::Layout::multibit);
    std::size_t mismatches = 0, found = 0;
    for (int k = 0; k < 200'000; ++k) {
        IpAddr a = inside(ps[rng() % ps.size()], rng);
        if (k % 5 == 0) a = IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
        std::uint32_t want = ref.lookup(a, 0);
        found += want != kNone;
        if (t.lookup(a) != want && ++mismatches < 5) MESSAGE("mismatch at " << a.to_string());
    }
    CHECK(mismatches == 0);
    CHECK(found > 150'000);
}
