// The timer wheel's cost per session-style use: arm a deadline, re-arm it on activity,
// and expire a batch.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "core/timer_wheel.hh"

using skjold::core::TimerNode;
using skjold::core::TimerWheel;

static void BM_TimerWheel_Rearm(benchmark::State& state) {
    auto wheel = std::make_unique<TimerWheel>(0);
    std::vector<TimerNode> nodes(static_cast<std::size_t>(state.range(0)));
    std::uint64_t now = 0;
    for (auto& n : nodes) wheel->arm(n, 30000);
    std::size_t i = 0;
    for (auto _ : state) {
        wheel->arm(nodes[i], now + 30000);   // activity pushes the idle deadline out
        if (++i == nodes.size()) i = 0;
        ++now;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerWheel_Rearm)->Arg(1000)->Arg(100000);

static void BM_TimerWheel_Expire(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<TimerNode> nodes(n);
    std::uint64_t now = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto wheel = std::make_unique<TimerWheel>(now);
        for (std::size_t i = 0; i < n; ++i) wheel->arm(nodes[i], now + 1 + i % 1000);
        state.ResumeTiming();
        std::uint64_t fired = wheel->advance(now + 1000, [](TimerNode*) {});
        benchmark::DoNotOptimize(fired);
        now += 2000;
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_TimerWheel_Expire)->Arg(10000);

BENCHMARK_MAIN();
