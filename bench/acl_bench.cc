// ACL evaluation micro benchmarks (not tests). BM_Acl_Src_NoV4: `src -f no-v4.cidr` (1,213
// Norwegian prefixes) against a mix of inside and outside client addresses.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "conf/condition.hh"
#include "proxy/acl_eval.hh"

using namespace skjold;

namespace {

// SKJOLD_TESTDATA when set (benchmark(..., env : test_env)); else ../shared/testdata next to the
// source tree, found from this file's path (relative to the build directory under Meson).
std::string testdata(const char* name) {
    if (const char* d = std::getenv("SKJOLD_TESTDATA")) return std::string(d) + "/" + name;
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/../../shared/testdata/" + name;
}

struct SrcCtx final : proxy::FetchContext {
    geo::IpAddr src;
    std::string_view ua;
    bool fetch(const conf::FetchCall& f, std::size_t index, proxy::Sample& out) noexcept override {
        if (f.id == conf::FetchId::src) {
            out.type = conf::SampleType::ip;
            out.ip = src;
            return true;
        }
        if (f.id == conf::FetchId::hdr && index == 0) {
            out.type = conf::SampleType::str;
            out.s = ua;
            return true;
        }
        return false;
    }
};

std::vector<geo::IpAddr> client_mix() {
    std::mt19937 rng(7);
    std::vector<geo::IpAddr> v;
    for (int i = 0; i < 4096; ++i) v.push_back(geo::IpAddr::from_v4(static_cast<std::uint32_t>(rng())));
    v.push_back(*geo::parse_ip("84.48.0.1"));
    return v;
}

void BM_Acl_Src_NoV4(benchmark::State& state) {
    conf::Proxy px;
    std::vector<std::string> words{"is_norway", "src", "-f", testdata("no-v4.cidr")};
    if (auto err = conf::add_acl(px, words, {"bench", 1})) {
        state.SkipWithError(err->c_str());
        return;
    }
    std::vector<std::string> cw{"if", "is_norway"};
    auto cond = conf::parse_condition(px, cw, {"bench", 2});
    auto clients = client_mix();
    SrcCtx ctx;
    std::size_t i = 0, hits = 0;
    for (auto _ : state) {
        ctx.src = clients[i++ % clients.size()];
        hits += proxy::evaluate(*cond, px, ctx);
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Acl_Src_NoV4);

void BM_Acl_HdrSub_Icase(benchmark::State& state) {
    conf::Proxy px;
    std::vector<std::string> words{"is_bot", "hdr_sub(User-Agent)", "-i", "curl", "wget", "python-requests"};
    conf::add_acl(px, words, {"bench", 1});
    SrcCtx ctx;
    ctx.ua = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";
    std::size_t hits = 0;
    for (auto _ : state) hits += proxy::acl_matches(px.acls[0], ctx);
    benchmark::DoNotOptimize(hits);
}
BENCHMARK(BM_Acl_HdrSub_Icase);

}  // namespace

BENCHMARK_MAIN();
