// 1000 handshakes (full, resumed, failed) leave no OpenSSL allocation behind.
//
// OpenSSL's allocator hooks (CRYPTO_set_mem_functions) are process-wide and only accepted
// before OpenSSL's first allocation, so they are installed by a static initialiser of this
// file, before doctest's main runs any test; they count live blocks for every test of this
// executable, which is harmless (a size header and two relaxed atomics per call).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>

#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;

namespace {

std::atomic<long> g_live_blocks{0};
std::atomic<long> g_live_bytes{0};
constexpr std::size_t kHeader = 16;   // keeps the returned pointer 16-byte aligned

void* counted_malloc(std::size_t n, const char*, int) {
    auto* p = static_cast<unsigned char*>(std::malloc(n + kHeader));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &n, sizeof(n));
    g_live_blocks.fetch_add(1, std::memory_order_relaxed);
    g_live_bytes.fetch_add(static_cast<long>(n), std::memory_order_relaxed);
    return p + kHeader;
}

void counted_free(void* q, const char*, int) {
    if (q == nullptr) return;
    auto* p = static_cast<unsigned char*>(q) - kHeader;
    std::size_t n;
    std::memcpy(&n, p, sizeof(n));
    g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
    g_live_bytes.fetch_sub(static_cast<long>(n), std::memory_order_relaxed);
    std::free(p);
}

void* counted_realloc(void* q, std::size_t n, const char* f, int l) {
    if (q == nullptr) return counted_malloc(n, f, l);
    if (n == 0) {
        counted_free(q, f, l);
        return nullptr;
    }
    auto* old = static_cast<unsigned char*>(q) - kHeader;
    std::size_t was;
    std::memcpy(&was, old, sizeof(was));
    auto* p = static_cast<unsigned char*>(std::realloc(old, n + kHeader));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &n, sizeof(n));
    g_live_bytes.fetch_add(static_cast<long>(n) - static_cast<long>(was), std::memory_order_relaxed);
    return p + kHeader;
}

const bool g_hooked = CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) == 1;

}  // namespace

TEST_CASE("1000 handshakes, full, resumed and failed, leave no OpenSSL memory behind") {
    REQUIRE_MESSAGE(g_hooked, "CRYPTO_set_mem_functions came after OpenSSL's first allocation");
    test::Server srv(test::frontend("crt " + test::Pki::get().dir));
    test::RawClient cl([](SSL_CTX* x) { SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF); });
    SessionPtr resume;
    auto one = [&](int i) {
        TlsConn c;
        REQUIRE(c.accept(*srv.ctx));
        if (i % 10 == 9) {   // a failed handshake: garbage
            static const std::uint8_t junk[] = "GET / HTTP/1.0\r\n\r\n";
            c.feed(junk);
            CHECK(c.handshake() == TlsStatus::failed);
            c.release_input();
            return;
        }
        if (i % 10 == 8) {   // a truncated ClientHello
            cl.start("b.test");
            cl.step();
            std::string hello = cl.take_output();
            c.feed({reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size() / 2});
            c.handshake();
            c.release_input();
            c.feed_eof();
            CHECK(c.handshake() == TlsStatus::failed);
            return;
        }
        cl.start(i % 2 == 0 ? "a.test" : "b.test", i % 3 == 0 ? resume.get() : nullptr);
        auto r = test::handshake(c, cl);
        CHECK(r.server == TlsStatus::ok);
        if (i % 2 == 0) resume.reset(SSL_get1_session(cl.ssl));
    };
    for (int i = 0; i < 50; ++i) one(i);   // warm-up: OpenSSL's per-thread and fetch caches
    SSL_free(cl.ssl);
    cl.ssl = nullptr;
    long blocks = g_live_blocks.load(), bytes = g_live_bytes.load();
    auto resumed = srv.ctx->stats().resumed.read();
    for (int i = 0; i < 1000; ++i) one(i);
    SSL_free(cl.ssl);
    cl.ssl = nullptr;
    CHECK(srv.ctx->stats().resumed.read() - resumed > 100);   // the loop does resume
    long grown_blocks = g_live_blocks.load() - blocks, grown_bytes = g_live_bytes.load() - bytes;
    MESSAGE("live OpenSSL blocks grew by " << grown_blocks << ", bytes by " << grown_bytes);
    // `resume` holds another session than before the loop (same shape): a small slack; a leak
    // of one block per handshake would show as hundreds.
    CHECK(grown_blocks <= 16);
    CHECK(grown_bytes <= 8 * 1024);
}
