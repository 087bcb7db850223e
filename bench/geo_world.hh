#pragma once
// The world lists of shared/testdata (all-countries-v4.txt, all-countries-v6.txt: `CIDR CC` per
// line) and the client addresses the geo benchmarks look up, shared by prefix_table_bench.cc and
// mmdb_bench.cc (one executable, so every contender runs in the same run on the same addresses).

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "geo/address.hh"
#include "geo/prefix_table.hh"

namespace skjold::bench {

// SKJOLD_TESTDATA / SKJOLD_SOURCE_ROOT when set (benchmark(..., env : test_env)); else paths
// relative to this file (Meson compiles it with a path relative to the build directory).
inline std::string source_root() {
    if (const char* d = std::getenv("SKJOLD_SOURCE_ROOT")) return d;
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/..";
}

inline std::string testdata(const std::string& name) {
    if (const char* d = std::getenv("SKJOLD_TESTDATA")) return std::string(d) + "/" + name;
    return source_root() + "/../shared/testdata/" + name;
}

// Lines in file order; values index `codes` (shared by both families, so an id means the same
// country in the v4 and v6 lists).
struct World {
    std::vector<geo::Prefix> prefixes;
    std::vector<std::uint32_t> values;
};

inline std::vector<std::string>& world_codes() {
    static std::vector<std::string> codes;
    return codes;
}

inline const World& world(int family) {
    static std::map<int, World> cache;
    static std::map<std::string, std::uint32_t> ids;
    auto [it, fresh] = cache.try_emplace(family);
    if (!fresh) return it->second;
    std::ifstream in(testdata(family == 4 ? "all-countries-v4.txt" : "all-countries-v6.txt"));
    std::string line, cidr, cc;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        ls >> cidr >> cc;
        auto p = geo::parse_prefix(cidr);
        if (!p) continue;
        auto [id, added] = ids.emplace(cc, static_cast<std::uint32_t>(ids.size()));
        if (added) world_codes().push_back(cc);
        it->second.prefixes.push_back(*p);
        it->second.values.push_back(id->second);
    }
    return it->second;
}

inline geo::PrefixTable build_table(const World& w) {
    geo::PrefixTable::Builder b;
    for (std::size_t i = 0; i < w.prefixes.size(); ++i) b.add(w.prefixes[i], w.values[i]);
    return b.build();
}

// The IPv4 and IPv6 lists in one table, as a Snapshot holds them (built once per run; with
// Layout::poptrie, the compressed layout that smaller or sparser tables get).
inline const geo::PrefixTable& world_table(geo::PrefixTable::Layout layout = geo::PrefixTable::Layout::automatic) {
    static std::map<geo::PrefixTable::Layout, geo::PrefixTable> cache;
    auto [it, fresh] = cache.try_emplace(layout);
    if (!fresh) return it->second;
    it->second = [&] {
        geo::PrefixTable::Builder b;
        b.set_layout(layout);
        for (int family : {4, 6}) {
            const World& w = world(family);
            for (std::size_t i = 0; i < w.prefixes.size(); ++i) b.add(w.prefixes[i], w.values[i]);
        }
        return b.build();
    }();
    return it->second;
}

// Which client addresses a benchmark looks up (2^20 of them, a fixed seed, the same for every
// contender):
//   uniform: uniformly random IPv4 addresses (IPv4 only; big prefixes are hit in proportion to
//            their size);
//   listed:  a listed prefix chosen uniformly, then random host bits: every lookup ends in a
//            listed network, mostly the long /22../24 (IPv4) and /29../48 (IPv6) ones, the deep
//            walks. Uniformly random IPv6 addresses would nearly all miss at the first level.
enum class Mix : std::uint8_t { uniform, listed };
inline constexpr std::size_t kAddressCount = std::size_t{1} << 20;

inline const std::vector<geo::IpAddr>& addresses(int family, Mix mix) {
    static std::map<std::pair<int, Mix>, std::vector<geo::IpAddr>> cache;
    auto [it, fresh] = cache.try_emplace({family, mix});
    if (!fresh) return it->second;
    const World& w = world(family);
    std::mt19937_64 rng(1234);
    auto& v = it->second;
    v.resize(kAddressCount);
    for (auto& a : v) {
        if (mix == Mix::uniform && family == 4) {
            a = geo::IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
            continue;
        }
        if (w.prefixes.empty()) continue;
        const geo::Prefix& p = w.prefixes[rng() % w.prefixes.size()];
        a = p.addr;
        for (unsigned bit = p.len; bit < 128; ++bit)
            if (rng() & 1) a.b[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    }
    return v;
}

}  // namespace skjold::bench
