// TLS engine micro benchmarks (not tests): handshakes through TlsConn in memory against an
// OpenSSL client in the same thread, with the unit tests' generated certificates (ECDSA P-256
// a.pem, RSA 2048 rsa.pem; tests/unit/proxy/tls_test_peer.hh). The client runs in the
// same thread: its cost is in the time columns; the counter
// `server_hs/s` is handshakes per second of the server's calls' thread CPU time (accept,
// handshake, close): the figure one proxy core would reach with the client elsewhere.
//
//   BM_Tls_Full/ec|rsa              full handshakes, TLS 1.3, ECDSA P-256 / RSA 2048
//   BM_Tls_Resumed/ticket|cache     TLS 1.3 ticket / TLS 1.2 session id through the shared cache
//   BM_Tls_Full_2T/per_worker       2 threads, each its own SSL_CTX on the shared parsed certificates (skjold)
//   BM_Tls_Full_2T/shared_ctx       2 threads sharing one SSL_CTX (the OpenSSL 3 lock cost)
//   BM_Tls_Full_2T/independent      2 threads, each its own configuration read from the files
//   BM_Tls_Resumed_2T/ticket|cache  2 threads, per-worker SSL_CTX, shared ticket keys / cache
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "conf/loader.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_context.hh"
#include "tests/unit/proxy/tls_test_peer.hh"

using namespace skjold;
using namespace skjold::proxy;

namespace {

std::shared_ptr<const TlsConfig> load(const std::string& crt, const std::string& extra = "") {
    auto loaded = conf::load_string("defaults\n  mode tcp\nfrontend fe\n  bind 127.0.0.1:0 ssl crt " + crt + " " + extra +
                                        "\n  default_backend be\nbackend be\n  server s 127.0.0.1:9\n",
                                    "bench.cfg");
    if (!loaded.snapshot) test::die("configuration");
    auto r = load_tls_config(*loaded.snapshot);
    if (!r.config) test::die("load_tls_config");
    return r.config;
}

// One "worker": a configuration, process-wide shared state and this worker's SSL_CTXs.
struct Worker {
    std::shared_ptr<const TlsConfig> cfg;
    std::unique_ptr<TlsShared> shared;
    std::unique_ptr<TlsContext> ctx;
    Worker(std::shared_ptr<const TlsConfig> c, TlsShared* sh) : cfg(std::move(c)) {
        if (sh == nullptr) {
            auto s = TlsShared::create(cfg->cache_entries);
            if (!s) test::die("TlsShared");
            shared = std::move(*s);
            sh = shared.get();
        }
        auto x = TlsContext::create(cfg->binds[0], *cfg, sh);
        if (!x) test::die("TlsContext");
        ctx = std::move(*x);
    }
};

void tls12_no_tickets(SSL_CTX* x) {
    SSL_CTX_set_max_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_TICKET);
}

// The measured loop: one connection per iteration, resumed or not.
void handshakes(benchmark::State& st, TlsContext& ctx, test::RawClient& cl, bool resume) {
    proxy::SessionPtr sess;
    std::int64_t server_ns = 0;
    std::int64_t reused = 0;
    for (auto _ : st) {
        TlsConn c;
        std::int64_t t0 = test::thread_cpu_ns();
        bool ok = c.accept(ctx);
        server_ns += test::thread_cpu_ns() - t0;
        if (!ok) {
            st.SkipWithError("accept");
            break;
        }
        cl.start(nullptr, resume ? sess.get() : nullptr);
        auto r = test::handshake(c, cl, &server_ns);
        if (r.server != TlsStatus::ok || r.client != 1) {
            st.SkipWithError("handshake failed");
            break;
        }
        reused += c.session_reused() ? 1 : 0;
        if (resume && !sess) sess.reset(SSL_get1_session(cl.ssl));
        t0 = test::thread_cpu_ns();
        c.close();
        server_ns += test::thread_cpu_ns() - t0;
    }
    st.counters["server_hs/s"] = benchmark::Counter(
        server_ns > 0 ? static_cast<double>(st.iterations()) * 1e9 / static_cast<double>(server_ns) : 0,
        benchmark::Counter::kAvgThreads);
    st.counters["reused%"] = benchmark::Counter(
        st.iterations() > 0 ? 100.0 * static_cast<double>(reused) / static_cast<double>(st.iterations()) : 0,
        benchmark::Counter::kAvgThreads);
}

void BM_Tls_Full(benchmark::State& st) {
    Worker w(load(st.range(0) == 0 ? test::Pki::get().a_file : test::Pki::get().rsa_file), nullptr);
    test::RawClient cl;
    handshakes(st, *w.ctx, cl, false);
}
BENCHMARK(BM_Tls_Full)->ArgName("ec_0_rsa_1")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_Tls_Resumed(benchmark::State& st) {
    Worker w(load(test::Pki::get().a_file), nullptr);
    test::RawClient cl(st.range(0) == 0 ? std::function<void(SSL_CTX*)>() : tls12_no_tickets);
    handshakes(st, *w.ctx, cl, true);
}
BENCHMARK(BM_Tls_Resumed)->ArgName("ticket_0_cache_1")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Two threads; how the server side's objects are shared is the argument.
enum Sharing : int { per_worker = 0, shared_ctx = 1, independent = 2 };

void BM_Tls_Full_2T(benchmark::State& st) {
    static auto cfg = load(test::Pki::get().a_file);
    static Worker one(cfg, nullptr);   // the shared SSL_CTX, and the shared ticket keys / cache
    std::unique_ptr<Worker> mine;
    switch (static_cast<Sharing>(st.range(0))) {
    case per_worker: mine = std::make_unique<Worker>(cfg, one.shared.get()); break;
    case shared_ctx: break;
    case independent: mine = std::make_unique<Worker>(load(test::Pki::get().a_file), nullptr); break;
    }
    test::RawClient cl;
    handshakes(st, mine ? *mine->ctx : *one.ctx, cl, false);
}
BENCHMARK(BM_Tls_Full_2T)->ArgName("per_worker_0_shared_ctx_1_independent_2")->Arg(0)->Arg(1)->Arg(2)
    ->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Tls_Resumed_2T(benchmark::State& st) {
    static auto cfg = load(test::Pki::get().a_file);
    static Worker one(cfg, nullptr);
    Worker mine(cfg, one.shared.get());
    test::RawClient cl(st.range(0) == 0 ? std::function<void(SSL_CTX*)>() : tls12_no_tickets);
    handshakes(st, *mine.ctx, cl, true);
}
BENCHMARK(BM_Tls_Resumed_2T)->ArgName("ticket_0_cache_1")->Arg(0)->Arg(1)->Threads(2)->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
