// Longest-prefix-match micro benchmarks (not tests), over the world lists in shared/testdata
// (all-countries-v4.txt, all-countries-v6.txt: `CIDR CC` per line).
//   BM_PrefixTable_Lookup/v4: uniformly random IPv4 addresses (most of IPv4 is allocated).
//   BM_PrefixTable_Lookup/v6: addresses inside randomly chosen listed prefixes, random host bits
//     (uniformly random IPv6 addresses would nearly all stop at the first level).
//   BM_SortedRanges_Lookup/v4|v6: the same addresses against a sorted vector of merged ranges
//     searched by binary search (membership only): the matcher ACLs used before the table.
//   BM_PrefixTable_Build/v4|v6: building the table from the parsed list; the counter `bytes`
//     is memory_bytes() of the result.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <algorithm>

#include "geo/prefix_table.hh"

using namespace skjold;

namespace {

std::string testdata(const char* name) {
    if (const char* d = std::getenv("SKJOLD_TESTDATA")) return std::string(d) + "/" + name;
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/../../shared/testdata/" + name;
}

struct World {
    std::vector<geo::Prefix> prefixes;
    std::vector<std::uint32_t> values;
};

const World& world(int family) {
    static std::map<int, World> cache;
    auto [it, fresh] = cache.try_emplace(family);
    if (!fresh) return it->second;
    std::map<std::string, std::uint32_t> ids;
    std::ifstream in(testdata(family == 4 ? "all-countries-v4.txt" : "all-countries-v6.txt"));
    std::string line, cidr, cc;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        ls >> cidr >> cc;
        auto p = geo::parse_prefix(cidr);
        if (!p) continue;
        it->second.prefixes.push_back(*p);
        it->second.values.push_back(ids.emplace(cc, static_cast<std::uint32_t>(ids.size())).first->second);
    }
    return it->second;
}

geo::PrefixTable build(const World& w) {
    geo::PrefixTable::Builder b;
    for (std::size_t i = 0; i < w.prefixes.size(); ++i) b.add(w.prefixes[i], w.values[i]);
    return b.build();
}

std::vector<geo::IpAddr> addresses(int family, const World& w) {
    std::mt19937_64 rng(1234);
    std::vector<geo::IpAddr> v(1u << 20);
    for (auto& a : v) {
        if (family == 4) {
            a = geo::IpAddr::from_v4(static_cast<std::uint32_t>(rng()));
            continue;
        }
        const geo::Prefix& p = w.prefixes[rng() % w.prefixes.size()];
        a = p.addr;
        for (unsigned bit = p.len; bit < 128; ++bit)
            if (rng() & 1) a.b[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    }
    return v;
}

void BM_PrefixTable_Lookup(benchmark::State& state, int family) {
    const World& w = world(family);
    if (w.prefixes.empty()) {
        state.SkipWithError("world list not found (SKJOLD_TESTDATA)");
        return;
    }
    auto t = build(w);
    auto addrs = addresses(family, w);
    std::size_t i = 0, hits = 0;
    for (auto _ : state) {
        hits += t.lookup(addrs[i++ & (addrs.size() - 1)]) != geo::PrefixTable::kNone;
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["bytes"] = static_cast<double>(t.memory_bytes());
    state.counters["prefixes"] = static_cast<double>(t.size());
}
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v4, 4);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v6, 6);

// The baseline: prefixes as sorted, merged [first, last] ranges of 128-bit addresses.
class SortedRanges {
public:
    explicit SortedRanges(const std::vector<geo::Prefix>& ps) {
        for (const auto& p : ps) {
            u128 first = key(p.addr);
            u128 host = p.len == 0 ? ~u128{0} : (p.len == 128 ? 0 : (u128{1} << (128 - p.len)) - 1);
            r_.push_back({first, first | host});
        }
        std::sort(r_.begin(), r_.end(), [](const R& a, const R& b) { return a.first < b.first; });
        std::vector<R> m;
        for (const auto& r : r_) {
            if (!m.empty() && r.first <= m.back().last + 1) m.back().last = std::max(m.back().last, r.last);
            else m.push_back(r);
        }
        r_ = std::move(m);
    }
    bool contains(const geo::IpAddr& a) const noexcept {
        u128 k = key(a);
        auto it = std::upper_bound(r_.begin(), r_.end(), k, [](u128 x, const R& r) { return x < r.first; });
        return it != r_.begin() && k <= std::prev(it)->last;
    }

private:
    using u128 = unsigned __int128;
    struct R { u128 first, last; };
    static u128 key(const geo::IpAddr& a) noexcept {
        u128 v = 0;
        for (auto b : a.b) v = (v << 8) | b;
        return v;
    }
    std::vector<R> r_;
};

void BM_SortedRanges_Lookup(benchmark::State& state, int family) {
    const World& w = world(family);
    if (w.prefixes.empty()) {
        state.SkipWithError("world list not found (SKJOLD_TESTDATA)");
        return;
    }
    SortedRanges m(w.prefixes);
    auto addrs = addresses(family, w);
    std::size_t i = 0, hits = 0;
    for (auto _ : state) hits += m.contains(addrs[i++ & (addrs.size() - 1)]);
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_SortedRanges_Lookup, v4, 4);
BENCHMARK_CAPTURE(BM_SortedRanges_Lookup, v6, 6);

void BM_PrefixTable_Build(benchmark::State& state, int family) {
    const World& w = world(family);
    if (w.prefixes.empty()) {
        state.SkipWithError("world list not found (SKJOLD_TESTDATA)");
        return;
    }
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto t = build(w);
        bytes = t.memory_bytes();
        benchmark::DoNotOptimize(bytes);
    }
    state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_PrefixTable_Build, v4, 4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PrefixTable_Build, v6, 6)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
