// Micro benchmarks of server selection (proxy/balancer.hh): one pick on a 10-server backend,
// the way a worker calls it per connection. leastconn and random keep ~64 connections open
// (each pick opens one and closes the oldest) so their load comparison has real numbers to read.

#include "proxy/balancer.hh"

#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

using namespace skjold;

namespace {

constexpr int kServers = 10;
constexpr std::size_t kOpen = 64;

conf::Proxy make_backend(conf::Balance algo) {
    conf::Proxy p;
    p.name = "bench";
    p.is_backend = true;
    p.balance = algo;
    for (int i = 0; i < kServers; ++i) {
        conf::Server s;
        s.name = "s" + std::to_string(i);
        s.id = static_cast<std::uint32_t>(i);
        s.opt.check = true;
        s.opt.weight = 1 + i % 4;   // mixed weights: the weighted paths do real work
        p.servers.push_back(s);
    }
    return p;
}

std::vector<geo::IpAddr> clients() {
    std::vector<geo::IpAddr> v(1024);
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].b[10] = 0xff;
        v[i].b[11] = 0xff;
        v[i].b[12] = 84;
        v[i].b[13] = 208;
        v[i].b[14] = static_cast<std::uint8_t>(i >> 8);
        v[i].b[15] = static_cast<std::uint8_t>(i);
    }
    return v;
}

void BM_Balancer_Pick(benchmark::State& state, conf::Balance algo) {
    const auto px = make_backend(algo);
    health::BackendState st(px);
    proxy::Balancer b(px, st, 0, 1);
    const auto addrs = clients();
    std::array<int, kOpen> open{};
    open.fill(-1);
    std::size_t i = 0;
    for (auto _ : state) {
        const int s = b.pick(addrs[i % addrs.size()]);
        benchmark::DoNotOptimize(s);
        auto& slot = open[i % kOpen];
        b.on_release(slot);
        b.on_connect(s);
        slot = s;
        ++i;
    }
    state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(BM_Balancer_Pick, roundrobin, conf::Balance::roundrobin);
BENCHMARK_CAPTURE(BM_Balancer_Pick, static_rr, conf::Balance::static_rr);
BENCHMARK_CAPTURE(BM_Balancer_Pick, leastconn, conf::Balance::leastconn);
BENCHMARK_CAPTURE(BM_Balancer_Pick, source, conf::Balance::source);
BENCHMARK_CAPTURE(BM_Balancer_Pick, first, conf::Balance::first);
BENCHMARK_CAPTURE(BM_Balancer_Pick, random, conf::Balance::random);

BENCHMARK_MAIN();
