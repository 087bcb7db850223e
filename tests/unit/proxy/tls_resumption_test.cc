// Session resumption: tickets under keys shared by the workers, the shared session cache,
// no-tls-tickets, tune.ssl.cachesize 0, key rotation; and the lock-free stores themselves.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;
using test::Pki;
using test::RawClient;

namespace {

struct Outcome {
    bool ok = false, reused = false;
    SessionPtr session;   // what the client keeps for the next connection
    SessionPtr server_session;
    bool has_ticket = false;
};

Outcome connect(TlsContext& ctx, RawClient& cl, SSL_SESSION* resume = nullptr) {
    Outcome o;
    TlsConn c;
    REQUIRE(c.accept(ctx));
    cl.start("a.test", resume);
    auto r = test::handshake(c, cl);
    o.ok = r.server == TlsStatus::ok && r.client == 1;
    o.reused = c.session_reused();
    o.server_session.reset(SSL_get1_session(c.ssl()));
    CHECK(o.reused == (SSL_session_reused(cl.ssl) == 1));   // both ends agree
    o.session.reset(SSL_get1_session(cl.ssl));
    o.has_ticket = o.session && SSL_SESSION_has_ticket(o.session.get()) == 1;
    return o;
}

void tls12(SSL_CTX* x) { SSL_CTX_set_max_proto_version(x, TLS1_2_VERSION); }
void tls12_no_tickets(SSL_CTX* x) {
    tls12(x);
    SSL_CTX_set_options(x, SSL_OP_NO_TICKET);
}

}  // namespace

TEST_CASE("a TLS 1.3 ticket from one worker resumes on another worker") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file));
    auto w2 = srv.another_worker();
    RawClient cl;
    auto first = connect(*srv.ctx, cl);
    REQUIRE(first.ok);
    CHECK_FALSE(first.reused);
    CHECK(first.has_ticket);
    auto second = connect(*w2, cl, first.session.get());
    CHECK(second.ok);
    CHECK(second.reused);
    CHECK(w2->stats().resumed.read() == 1);
}

TEST_CASE("every TLS 1.3 resumption issues a fresh ticket, so a chain of resumptions keeps resuming") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file));
    RawClient cl;
    auto prev = connect(*srv.ctx, cl);
    REQUIRE(prev.ok);
    auto ticket = [](const Outcome& o) {
        const unsigned char* t = nullptr;
        std::size_t n = 0;
        SSL_SESSION_get0_ticket(o.session.get(), &t, &n);
        return std::string(reinterpret_cast<const char*>(t), n);
    };
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        auto next = connect(*srv.ctx, cl, prev.session.get());
        CHECK(next.reused);
        REQUIRE(next.has_ticket);
        CHECK(ticket(next) != ticket(prev));   // the client keeps a ticket of this connection
        prev = std::move(next);
    }
    CHECK(srv.ctx->stats().resumed.read() == 3);
}

TEST_CASE("a TLS 1.2 ticket resumes; the stateless ticket puts nothing in the cache") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file));
    RawClient cl(tls12);
    auto first = connect(*srv.ctx, cl);
    REQUIRE(first.ok);
    CHECK(first.has_ticket);
    auto second = connect(*srv.another_worker(), cl, first.session.get());
    CHECK(second.reused);
    CHECK(srv.ctx->stats().cache_stores.read() == 0);
}

TEST_CASE("a TLS 1.2 client without tickets resumes through the shared cache on another worker") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file));
    auto w2 = srv.another_worker();
    RawClient cl(tls12_no_tickets);
    auto first = connect(*srv.ctx, cl);
    REQUIRE(first.ok);
    CHECK_FALSE(first.has_ticket);
    CHECK(srv.ctx->stats().cache_stores.read() == 1);
    auto second = connect(*w2, cl, first.session.get());
    CHECK(second.reused);
    CHECK(w2->stats().cache_hits.read() == 1);
}

TEST_CASE("no-tls-tickets: no ticket is issued; TLS 1.2 and TLS 1.3 resume through the cache") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file + " no-tls-tickets"));
    SUBCASE("TLS 1.2") {
        RawClient cl(tls12);
        auto first = connect(*srv.ctx, cl);
        REQUIRE(first.ok);
        CHECK_FALSE(first.has_ticket);
        CHECK(connect(*srv.another_worker(), cl, first.session.get()).reused);
    }
    SUBCASE("TLS 1.3: stateful tickets, looked up in the shared cache, single use") {
        RawClient cl;
        auto first = connect(*srv.ctx, cl);
        REQUIRE(first.ok);
        CHECK(srv.ctx->stats().cache_stores.read() >= 1);
        auto w2 = srv.another_worker();
        CHECK(connect(*w2, cl, first.session.get()).reused);
        CHECK(w2->stats().cache_hits.read() == 1);
    }
}

TEST_CASE("tune.ssl.cachesize 0 with no-tls-tickets: nothing resumes") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file + " no-tls-tickets", "  tune.ssl.cachesize 0\n"));
    CHECK(srv.shared->session_cache() == nullptr);
    for (auto setup : {tls12, static_cast<void (*)(SSL_CTX*)>(nullptr)}) {
        RawClient cl(setup ? std::function<void(SSL_CTX*)>(setup) : std::function<void(SSL_CTX*)>());
        auto first = connect(*srv.ctx, cl);
        REQUIRE(first.ok);
        CHECK_FALSE(connect(*srv.ctx, cl, first.session.get()).reused);
    }
}

TEST_CASE("ticket keys rotate: a ticket resumes for two rotations, not three") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file));
    RawClient cl;
    auto first = connect(*srv.ctx, cl);
    REQUIRE(first.ok);
    auto& keys = srv.shared->ticket_keys();
    REQUIRE(keys.rotate());
    CHECK(connect(*srv.ctx, cl, first.session.get()).reused);   // previous key: renewed ticket
    REQUIRE(keys.rotate());
    CHECK(connect(*srv.ctx, cl, first.session.get()).reused);
    REQUIRE(keys.rotate());
    CHECK_FALSE(connect(*srv.ctx, cl, first.session.get()).reused);   // its key is gone
}

TEST_CASE("a session from one bind does not resume on another bind") {
    auto& pki = Pki::get();
    auto cfg = test::tls_config("defaults\n  mode tcp\nfrontend fe\n  bind 127.0.0.1:0 ssl crt " + pki.a_file +
                                "\n  bind 127.0.0.1:0 ssl crt " + pki.a_file + "\n  default_backend be\n"
                                "backend be\n  server s 127.0.0.1:9\n");
    auto shared = TlsShared::create(100);
    REQUIRE(shared);
    auto one = TlsContext::create(cfg->binds[0], *cfg, shared->get());
    auto two = TlsContext::create(cfg->binds[1], *cfg, shared->get());
    REQUIRE(one);
    REQUIRE(two);
    RawClient cl;
    auto first = connect(**one, cl);
    REQUIRE(first.ok);
    CHECK(connect(**one, cl, first.session.get()).reused);
    CHECK_FALSE(connect(**two, cl, first.session.get()).reused);
}

TEST_CASE("ticket keys: readers never see a torn key while the control thread rotates") {
    TlsTicketKeys keys;
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0}, reads{0};
    auto reader = [&] {
        TlsTicketKeys::Key k;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!keys.current(k)) continue;
            ++reads;
            // Every installed key is one byte value repeated: a mix means a torn copy.
            const auto* p = reinterpret_cast<const std::uint8_t*>(&k);
            for (std::size_t i = 1; i < sizeof(k); ++i)
                if (p[i] != p[0]) {
                    ++torn;
                    break;
                }
        }
    };
    TlsTicketKeys::Key k;
    std::memset(&k, 1, sizeof(k));
    keys.install(k);
    std::thread r1(reader), r2(reader);
    // Until the readers have done many reads while keys change (bounded in count and time).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int i = 0; i < 5000000 && (reads.load() < 200000 || i < 20000); ++i) {
        std::memset(&k, i & 0xff, sizeof(k));
        keys.install(k);
        if ((i & 1023) == 0 && std::chrono::steady_clock::now() > deadline) break;
    }
    stop = true;
    r1.join();
    r2.join();
    CHECK(torn.load() == 0);
    CHECK(reads.load() > 0);
    TlsTicketKeys::Key found;
    bool current = false;
    CHECK(keys.find(k.name, found, current));
    CHECK(current);
    std::uint8_t unknown[16] = {0xEE};
    CHECK_FALSE(keys.find(unknown, found, current));
}

TEST_CASE("session cache: stored sessions come back by id, removed ones do not, other ids miss") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file + " no-tls-tickets alpn http/1.1"));
    RawClient cl([](SSL_CTX* x) {
        tls12(x);
        SSL_CTX_set_alpn_protos(x, reinterpret_cast<const unsigned char*>("\x08http/1.1"), 9);
    });
    auto first = connect(*srv.ctx, cl);
    REQUIRE(first.ok);
    SSL_SESSION* sess = first.server_session.get();
    // A server session with SNI and ALPN fits an entry with room to spare.
    CHECK(i2d_SSL_SESSION(sess, nullptr) < static_cast<int>(TlsSessionCache::kMaxSessionBytes) / 2);
    TlsSessionCache cache(64);
    CHECK(cache.store(sess) == TlsSessionCache::Store::stored);
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(sess, &len);
    REQUIRE(len == 32);
    SessionPtr back(cache.lookup(id, len));
    REQUIRE(back);
    unsigned int len2 = 0;
    const unsigned char* id2 = SSL_SESSION_get_id(back.get(), &len2);
    CHECK(std::string_view(reinterpret_cast<const char*>(id2), len2) == std::string_view(reinterpret_cast<const char*>(id), len));
    CHECK(std::string_view(SSL_SESSION_get0_hostname(back.get())) == "a.test");
    std::uint8_t other[32] = {1, 2, 3};
    CHECK(cache.lookup(other, sizeof(other)) == nullptr);
    cache.remove(id, len);
    CHECK(cache.lookup(id, len) == nullptr);
    // A client session carries the server's certificate chain: too big, refused, not truncated.
    CHECK(cache.store(first.session.get()) == TlsSessionCache::Store::too_big);
}

TEST_CASE("session cache: concurrent writers on one entry never hand a reader a mixed session") {
    test::Server srv(test::frontend("crt " + Pki::get().a_file + " no-tls-tickets"));
    RawClient cl(tls12);
    auto one = connect(*srv.ctx, cl), two = connect(*srv.ctx, cl);
    REQUIRE(one.ok);
    REQUIRE(two.ok);
    auto der = [](SSL_SESSION* s) {
        std::string out(static_cast<std::size_t>(i2d_SSL_SESSION(s, nullptr)), '\0');
        auto* p = reinterpret_cast<unsigned char*>(out.data());
        i2d_SSL_SESSION(s, &p);
        return out;
    };
    const std::string want = der(one.server_session.get());
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(one.server_session.get(), &len);
    TlsSessionCache cache(1);   // both sessions land in the same entry
    std::atomic<bool> stop{false};
    std::atomic<long> hits{0}, wrong{0};
    auto writer = [&](SSL_SESSION* s) {
        for (int i = 0; i < 200000 && !stop.load(std::memory_order_relaxed); ++i) cache.store(s);
    };
    std::thread w1(writer, one.server_session.get()), w2(writer, two.server_session.get());
    for (int i = 0; i < 20000; ++i) {
        SessionPtr got(cache.lookup(id, len));
        if (!got) continue;
        ++hits;
        if (der(got.get()) != want) ++wrong;
    }
    stop = true;
    w1.join();
    w2.join();
    CHECK(wrong.load() == 0);
    MESSAGE("lookups that found the session while two threads overwrote it: " << hits.load() << " of 20000");
}
