// Longest-prefix-match micro benchmarks (not tests) over the world lists in shared/testdata
// (172,627 IPv4 + 73,731 IPv6 `CIDR CC` lines), one core, one run; mmdb_bench.cc adds
// libmaxminddb on the same networks and addresses to the same executable. Names:
//   BM_PrefixTable_Lookup/<set>:  the table (IPv4 and IPv6 lists in one table, as a Snapshot
//       holds them), PrefixTable::lookup(IpAddr) on each address of the set in turn. The lookups
//       are independent, so the CPU may overlap one with the next: this is throughput.
//       <set>_poptrie: the same table built with Layout::poptrie (what lists too big or too
//       sparse for the multibit layout get), for comparison.
//   BM_PrefixTable_Chained/<set>: the same, but the next address depends on the previous answer,
//       so nothing overlaps: this is the latency of one lookup.
//   BM_SortedVector_Lookup/<set>: the baseline: per family a sorted vector of disjoint address
//       ranges with their value (nesting resolved, equal neighbours merged), std::upper_bound.
//   BM_PrefixTable_Build/<list>: building the table from parsed prefixes; counter `bytes` is
//       memory_bytes() of the result.
//   BM_MapFile_Load/world: both list files read with load_ip_map() (parse + build), the cost of a
//       reload that reads them.
// <set>: v4 = uniformly random IPv4, v4_listed / v6_listed = random host bits inside a listed
// prefix chosen uniformly (see geo_world.hh). items_per_second is lookups per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "bench/geo_world.hh"
#include "geo/map_file.hh"

using namespace skjold;
using bench::Mix;

namespace {

using u128 = unsigned __int128;

void skip_without_world(benchmark::State& state, int family) {
    if (bench::world(family).prefixes.empty()) state.SkipWithError("world list not found (SKJOLD_TESTDATA)");
}

void BM_PrefixTable_Lookup(benchmark::State& state, int family, Mix mix, geo::PrefixTable::Layout layout) {
    skip_without_world(state, family);
    if (state.error_occurred()) return;
    const auto& t = bench::world_table(layout);
    const auto& addrs = bench::addresses(family, mix);
    std::size_t i = 0, hits = 0;
    for (auto _ : state) hits += t.lookup(addrs[i++ & (addrs.size() - 1)]) != geo::PrefixTable::kNone;
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["hit%"] = 100.0 * static_cast<double>(hits) / static_cast<double>(state.iterations());
}

void BM_PrefixTable_Chained(benchmark::State& state, int family, Mix mix) {
    skip_without_world(state, family);
    if (state.error_occurred()) return;
    const auto& t = bench::world_table();
    const auto& addrs = bench::addresses(family, mix);
    std::size_t i = 0;
    for (auto _ : state) {
        std::uint32_t v = t.lookup(addrs[i & (addrs.size() - 1)]);
        i += 1 + (v >> 31);   // kNone steps by 2: the next load waits for this answer
    }
    benchmark::DoNotOptimize(i);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The baseline: disjoint [first, last] ranges with the value of their most specific prefix.
template <class K>
class SortedVector {
public:
    SortedVector(const std::vector<geo::Prefix>& ps, const std::vector<std::uint32_t>& vs) {
        struct P { K first, last; std::uint32_t value; unsigned len; std::size_t order; };
        std::vector<P> in;
        for (std::size_t i = 0; i < ps.size(); ++i) {
            K first = key(ps[i].addr);
            unsigned len = ps[i].len - (kV4 ? 96u : 0u);
            K host = len == 0 ? ~K{0} : (len == kBits ? K{0} : (K{1} << (kBits - len)) - 1);
            in.push_back({first, first | host, vs[i], len, i});
        }
        // Parents before children; of identical prefixes the last line wins (kept last).
        std::sort(in.begin(), in.end(), [](const P& a, const P& b) {
            return a.first != b.first ? a.first < b.first : a.len != b.len ? a.len < b.len : a.order < b.order;
        });
        std::vector<P> open;   // enclosing prefixes, innermost last
        K cursor = 0;
        bool done = false;     // cursor passed the top address
        auto emit = [&](K first, K last, std::uint32_t v) {
            if (!r_.empty() && r_.back().value == v && r_.back().last + 1 == first) r_.back().last = last;
            else r_.push_back({first, last, v});
        };
        auto close_until = [&](K limit, bool all) {
            while (!open.empty() && (all || open.back().last < limit)) {
                if (!done && cursor <= open.back().last) emit(cursor, open.back().last, open.back().value);
                if (!done) {
                    done = open.back().last == ~K{0};
                    cursor = open.back().last + 1;
                }
                open.pop_back();
            }
        };
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (i + 1 < in.size() && in[i + 1].first == in[i].first && in[i + 1].len == in[i].len) continue;
            close_until(in[i].first, false);
            if (!open.empty() && cursor < in[i].first) emit(cursor, in[i].first - 1, open.back().value);
            cursor = in[i].first;
            open.push_back(in[i]);
        }
        close_until(0, true);
        r_.shrink_to_fit();
    }
    std::uint32_t lookup(K k) const noexcept {
        auto it = std::upper_bound(r_.begin(), r_.end(), k, [](K x, const R& r) { return x < r.first; });
        if (it == r_.begin() || k > std::prev(it)->last) return geo::PrefixTable::kNone;
        return std::prev(it)->value;
    }
    std::size_t size() const noexcept { return r_.size(); }
    std::size_t bytes() const noexcept { return r_.capacity() * sizeof(R); }

    static constexpr bool kV4 = sizeof(K) == 4;
    static constexpr unsigned kBits = sizeof(K) * 8;
    static K key(const geo::IpAddr& a) noexcept {
        if constexpr (kV4) {
            return a.v4();
        } else {
            K v = 0;
            for (auto b : a.b) v = (v << 8) | b;
            return v;
        }
    }

private:
    struct R { K first, last; std::uint32_t value; };
    std::vector<R> r_;
};

void BM_SortedVector_Lookup(benchmark::State& state, int family, Mix mix) {
    skip_without_world(state, family);
    if (state.error_occurred()) return;
    const auto& w4 = bench::world(4);
    const auto& w6 = bench::world(6);
    static const SortedVector<std::uint32_t> v4(w4.prefixes, w4.values);
    static const SortedVector<u128> v6(w6.prefixes, w6.values);
    const auto& addrs = bench::addresses(family, mix);
    const auto& t = bench::world_table();
    std::size_t disagree = 0;
    for (const auto& a : addrs)   // it is a baseline only if it gives the table's answers
        disagree += (a.is_v4() ? v4.lookup(v4.key(a)) : v6.lookup(v6.key(a))) != t.lookup(a);
    if (disagree) {
        state.SkipWithError("the sorted vector disagrees with the table");
        return;
    }
    std::size_t i = 0, hits = 0;
    for (auto _ : state) {
        const geo::IpAddr& a = addrs[i++ & (addrs.size() - 1)];
        hits += (a.is_v4() ? v4.lookup(v4.key(a)) : v6.lookup(v6.key(a))) != geo::PrefixTable::kNone;
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["ranges"] = static_cast<double>(family == 4 ? v4.size() : v6.size());
    state.counters["bytes"] = static_cast<double>(family == 4 ? v4.bytes() : v6.bytes());
}

void BM_PrefixTable_Build(benchmark::State& state, int family) {
    const auto& w4 = bench::world(4);
    const auto& w6 = bench::world(6);
    if (w4.prefixes.empty() || w6.prefixes.empty()) {
        state.SkipWithError("world list not found (SKJOLD_TESTDATA)");
        return;
    }
    std::size_t bytes = 0, size = 0;
    for (auto _ : state) {
        geo::PrefixTable::Builder b;
        for (const auto* w : {&w4, &w6}) {
            if ((w == &w4 && family == 6) || (w == &w6 && family == 4)) continue;
            for (std::size_t i = 0; i < w->prefixes.size(); ++i) b.add(w->prefixes[i], w->values[i]);
        }
        auto t = b.build();
        bytes = t.memory_bytes();
        size = t.size();
        benchmark::DoNotOptimize(bytes);
    }
    state.counters["bytes"] = static_cast<double>(bytes);
    state.counters["prefixes"] = static_cast<double>(size);
}

void BM_MapFile_Load(benchmark::State& state) {
    std::size_t bytes = 0;
    for (auto _ : state) {
        bytes = 0;
        for (const char* name : {"all-countries-v4.txt", "all-countries-v6.txt"}) {
            auto t = geo::load_ip_map(bench::testdata(name));
            if (!t) {
                state.SkipWithError(t.error().detail.c_str());
                return;
            }
            bytes += t->table.memory_bytes();
        }
    }
    state.counters["bytes"] = static_cast<double>(bytes);
}

}  // namespace

BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v4, 4, Mix::uniform, geo::PrefixTable::Layout::automatic);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v4_listed, 4, Mix::listed, geo::PrefixTable::Layout::automatic);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v6_listed, 6, Mix::listed, geo::PrefixTable::Layout::automatic);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v4_poptrie, 4, Mix::uniform, geo::PrefixTable::Layout::poptrie);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v4_listed_poptrie, 4, Mix::listed, geo::PrefixTable::Layout::poptrie);
BENCHMARK_CAPTURE(BM_PrefixTable_Lookup, v6_listed_poptrie, 6, Mix::listed, geo::PrefixTable::Layout::poptrie);
BENCHMARK_CAPTURE(BM_PrefixTable_Chained, v4, 4, Mix::uniform);
BENCHMARK_CAPTURE(BM_PrefixTable_Chained, v4_listed, 4, Mix::listed);
BENCHMARK_CAPTURE(BM_PrefixTable_Chained, v6_listed, 6, Mix::listed);
BENCHMARK_CAPTURE(BM_SortedVector_Lookup, v4, 4, Mix::uniform);
BENCHMARK_CAPTURE(BM_SortedVector_Lookup, v4_listed, 4, Mix::listed);
BENCHMARK_CAPTURE(BM_SortedVector_Lookup, v6_listed, 6, Mix::listed);
BENCHMARK_CAPTURE(BM_PrefixTable_Build, v4, 4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PrefixTable_Build, v6, 6)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PrefixTable_Build, world, 0)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MapFile_Load)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
