// Server-side handshakes through TlsConn against a plain OpenSSL client, in memory.
#include <doctest/doctest.h>

#include <cstring>

#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;
using test::Pki;
using test::RawClient;

namespace {

test::Server& dir_server() {
    static test::Server s(test::frontend("crt " + Pki::get().dir + " alpn h2,http/1.1"));
    return s;
}

void max_version(SSL_CTX* c, int v) { SSL_CTX_set_max_proto_version(c, v); }

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Accepts on the directory server and runs the handshake with `cl` asking for `sni`.
TlsStatus serve(TlsConn& c, RawClient& cl, const char* sni) {
    REQUIRE(c.accept(*dir_server().ctx));
    cl.start(sni);
    return test::handshake(c, cl).server;
}

}  // namespace

TEST_CASE("a TLS 1.3 handshake succeeds with the default settings") {
    auto& srv = dir_server();
    auto before = srv.ctx->stats().handshakes.read();
    TlsConn c;
    REQUIRE(c.accept(*srv.ctx));
    RawClient cl;
    cl.start("a.test");
    auto r = test::handshake(c, cl);
    CHECK(r.server == TlsStatus::ok);
    CHECK(r.client == 1);
    CHECK(c.handshake_done());
    CHECK(c.protocol() == "TLSv1.3");
    CHECK(c.cipher() == "TLS_AES_128_GCM_SHA256");   // Mozilla intermediate order, server preference
    CHECK(c.sni() == "a.test");
    CHECK_FALSE(c.session_reused());
    CHECK(srv.ctx->stats().handshakes.read() == before + 1);
}

TEST_CASE("a TLS 1.2 handshake succeeds with an ECDHE-ECDSA AES-GCM suite") {
    TlsConn c;
    REQUIRE(c.accept(*dir_server().ctx));
    RawClient cl([](SSL_CTX* x) { max_version(x, TLS1_2_VERSION); });
    cl.start("a.test");
    auto r = test::handshake(c, cl);
    CHECK(r.server == TlsStatus::ok);
    CHECK(r.client == 1);
    CHECK(c.protocol() == "TLSv1.2");
    CHECK(c.cipher() == "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_CASE("TLS 1.0 and TLS 1.1 clients are refused and counted as a version failure") {
    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
        CAPTURE(v);
        auto& stats = dir_server().ctx->stats();
        auto failed = stats.failed_version.read();
        TlsConn c;
        REQUIRE(c.accept(*dir_server().ctx));
        RawClient cl([v](SSL_CTX* x) {
            SSL_CTX_set_security_level(x, 0);
            SSL_CTX_set_cipher_list(x, "ALL:@SECLEVEL=0");
            SSL_CTX_set_min_proto_version(x, TLS1_VERSION);
            max_version(x, v);
        });
        cl.start("a.test");
        auto r = test::handshake(c, cl);
        CHECK(r.server == TlsStatus::failed);
        CHECK(r.client == -1);
        CHECK(c.error() == TlsError::version);
        CHECK(stats.failed_version.read() == failed + 1);
        CHECK(ERR_GET_REASON(cl.last_error) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);   // the alert reached it
    }
}

TEST_CASE("SNI picks each certificate of a directory, and the first one for an unknown name or none") {
    struct Case { const char* sni; const char* cn; };
    // (no structured bindings: doctest's CAPTURE takes them by reference, which clang 14 cannot)
    for (Case k : {Case{"a.test", "a.test"}, Case{"b.test", "b.test"}, Case{"www.a.test", "a.test"},
                   Case{"unknown.example", "a.test"}, Case{nullptr, "a.test"}}) {
        const char* sni = k.sni;
        const char* cn = k.cn;
        CAPTURE(sni != nullptr ? sni : "(none)");
        TlsConn c;
        RawClient cl;
        REQUIRE(serve(c, cl, sni) == TlsStatus::ok);
        CHECK(cl.peer_cn() == cn);
        CHECK(c.sni() == (sni != nullptr ? sni : ""));
    }
}

TEST_CASE("a wildcard certificate serves one level below its domain only") {
    for (auto k : {std::pair{"x.wild.test", "wild"}, std::pair{"Y.Wild.Test", "wild"},
                   std::pair{"a.x.wild.test", "a.test"}}) {
        const char* sni = k.first;
        const char* cn = k.second;
        CAPTURE(sni);
        TlsConn c;
        RawClient cl;
        REQUIRE(serve(c, cl, sni) == TlsStatus::ok);
        CHECK(cl.peer_cn() == cn);
    }
}

TEST_CASE("ECDSA or RSA for the same name is chosen by what the client supports") {
    TlsConn c;
    SUBCASE("TLS 1.3, default signature algorithms: ECDSA") {
        RawClient cl;
        REQUIRE(serve(c, cl, "dual.test") == TlsStatus::ok);
        CHECK(cl.peer_key_is("EC"));
    }
    SUBCASE("TLS 1.3, RSA-PSS signatures only: RSA") {
        RawClient cl([](SSL_CTX* x) { SSL_CTX_set1_sigalgs_list(x, "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384"); });
        REQUIRE(serve(c, cl, "dual.test") == TlsStatus::ok);
        CHECK(cl.peer_key_is("RSA"));
        CHECK(cl.peer_cn() == "dual.test");
    }
    SUBCASE("TLS 1.2, ECDHE-RSA suites only: RSA") {
        RawClient cl([](SSL_CTX* x) {
            max_version(x, TLS1_2_VERSION);
            SSL_CTX_set_cipher_list(x, "ECDHE-RSA-AES128-GCM-SHA256");
        });
        REQUIRE(serve(c, cl, "dual.test") == TlsStatus::ok);
        CHECK(cl.peer_key_is("RSA"));
        CHECK(c.cipher() == "ECDHE-RSA-AES128-GCM-SHA256");
    }
    SUBCASE("a name with only an ECDSA certificate fails cleanly for an RSA-only client") {
        RawClient cl([](SSL_CTX* x) { SSL_CTX_set1_sigalgs_list(x, "rsa_pss_rsae_sha256"); });
        CHECK(serve(c, cl, "b.test") == TlsStatus::failed);
        CHECK(c.error() == TlsError::negotiation);
    }
}

TEST_CASE("ALPN: the server's first protocol the client offers; none in common is no ALPN") {
    for (auto k : {std::pair{"\x08http/1.1", "http/1.1"}, std::pair{"\x08http/1.1\x02h2", "h2"},
                   std::pair{"\x03" "foo", ""}}) {
        const char* offer = k.first;
        const char* want = k.second;
        CAPTURE(want);
        TlsConn c;
        std::string o = offer;
        RawClient cl([&](SSL_CTX* x) {
            SSL_CTX_set_alpn_protos(x, reinterpret_cast<const unsigned char*>(o.data()), static_cast<unsigned>(o.size()));
        });
        REQUIRE(serve(c, cl, "a.test") == TlsStatus::ok);
        CHECK(c.alpn() == want);
    }
}

TEST_CASE("garbage and plain HTTP instead of a ClientHello fail as not TLS") {
    for (std::string junk : {std::string("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), std::string(300, '\x7f'),
                             std::string("\x16\x03\x01\x00\x05hello", 10)}) {
        auto& stats = dir_server().ctx->stats();
        auto before = stats.failed_not_tls.read();
        TlsConn c;
        REQUIRE(c.accept(*dir_server().ctx));
        c.feed(bytes(junk));
        CHECK(c.handshake() == TlsStatus::failed);
        c.release_input();
        CHECK(c.error() == TlsError::not_tls);
        CHECK(stats.failed_not_tls.read() == before + 1);
        CHECK(c.handshake() == TlsStatus::failed);   // stays failed
        c.close();
        CHECK_FALSE(c.is_open());
        CHECK(c.pending_output().empty());
    }
}

TEST_CASE("a ClientHello cut short by EOF fails as truncated; until EOF it only waits") {
    RawClient cl;
    cl.start("a.test");
    CHECK(cl.step() == 0);
    std::string hello = cl.take_output();
    REQUIRE(hello.size() > 100);
    auto& stats = dir_server().ctx->stats();
    auto before = stats.failed_truncated.read();
    TlsConn c;
    REQUIRE(c.accept(*dir_server().ctx));
    c.feed(bytes(hello).first(60));
    CHECK(c.handshake() == TlsStatus::want_input);
    CHECK(c.release_input() == 60);
    CHECK(c.handshake() == TlsStatus::want_input);   // a stall: the caller's timeout ends it
    c.feed_eof();
    CHECK(c.handshake() == TlsStatus::failed);
    CHECK(c.error() == TlsError::truncated);
    CHECK(stats.failed_truncated.read() == before + 1);
}

TEST_CASE("application data flows both ways through a small output buffer, and close_notify is seen") {
    TlsConn c;
    RawClient cl;
    REQUIRE(serve(c, cl, "a.test") == TlsStatus::ok);

    // Client -> server: 100 KB in records of up to 16 KB, fed in 1000-byte pieces.
    std::string up(100000, '\0');
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>(i * 7);
    REQUIRE(SSL_write(cl.ssl, up.data(), static_cast<int>(up.size())) == static_cast<int>(up.size()));
    std::string wire = cl.take_output(), got;
    std::uint8_t buf[4096];
    for (std::size_t off = 0; off < wire.size();) {
        std::size_t n = std::min<std::size_t>(1000, wire.size() - off);
        c.feed(bytes(wire).subspan(off, n));
        TlsIo r;
        do {
            r = c.read(buf);
            got.append(reinterpret_cast<char*>(buf), r.bytes);
        } while (r.status == TlsStatus::ok && r.bytes > 0);
        CHECK(r.status == TlsStatus::want_input);
        off += c.release_input();
    }
    CHECK(got == up);

    // Server -> client: 100 KB; the 17 KB output buffer fills, the caller sends and retries.
    std::string down = up.substr(0, 70000);
    std::size_t taken = 0;
    int want_output = 0;
    std::string seen;
    char cbuf[16384];
    while (taken < down.size()) {
        TlsIo w = c.write(bytes(down).subspan(taken));
        taken += w.bytes;
        if (w.status == TlsStatus::want_output) ++want_output;
        else REQUIRE(w.status == TlsStatus::ok);
        auto out = c.pending_output();
        cl.give(out);
        c.consume_output(out.size());
        int n;
        while ((n = SSL_read(cl.ssl, cbuf, sizeof(cbuf))) > 0) seen.append(cbuf, static_cast<std::size_t>(n));
    }
    CHECK(want_output > 0);
    CHECK(seen == down);
    c.trim();
    CHECK(c.pending_output().empty());

    // The client closes cleanly: the server reads `closed`.
    SSL_shutdown(cl.ssl);
    std::string bye = cl.take_output();
    c.feed(bytes(bye));
    CHECK(c.read(buf).status == TlsStatus::closed);
    c.release_input();
    CHECK(c.shutdown() == TlsStatus::ok);
    CHECK_FALSE(c.pending_output().empty());   // our close_notify
}

TEST_CASE("EOF after the handshake without close_notify is a close, not a failure") {
    TlsConn c;
    RawClient cl;
    REQUIRE(serve(c, cl, "a.test") == TlsStatus::ok);
    auto failed = dir_server().ctx->stats().failed.read();
    c.feed_eof();
    std::uint8_t buf[64];
    CHECK(c.read(buf).status == TlsStatus::closed);
    CHECK(dir_server().ctx->stats().failed.read() == failed);
}

TEST_CASE("a HelloRetryRequest (the client's key share is not one of our groups) completes") {
    TlsConn c;
    REQUIRE(c.accept(*dir_server().ctx));
    RawClient cl([](SSL_CTX* x) { SSL_CTX_set1_groups_list(x, "P-384:X25519"); });   // shares P-384 first
    cl.start("b.test");
    auto r = test::handshake(c, cl);
    CHECK(r.server == TlsStatus::ok);
    CHECK(r.client == 1);
    CHECK(cl.peer_cn() == "b.test");
}

TEST_CASE("after SNI moved a connection to another certificate, ALPN and tickets still work") {
    std::string o = "\x08http/1.1";
    RawClient cl([&](SSL_CTX* x) {
        SSL_CTX_set_alpn_protos(x, reinterpret_cast<const unsigned char*>(o.data()), static_cast<unsigned>(o.size()));
    });
    SessionPtr sess;
    for (int i = 0; i < 2; ++i) {
        TlsConn c;
        REQUIRE(c.accept(*dir_server().ctx));
        cl.start("b.test", sess.get());
        REQUIRE(test::handshake(c, cl).server == TlsStatus::ok);
        CHECK(cl.peer_cn() == "b.test");
        CHECK(c.alpn() == "http/1.1");
        CHECK(c.session_reused() == (i == 1));
        CHECK(c.sni() == "b.test");
        sess.reset(SSL_get1_session(cl.ssl));
    }
}

TEST_CASE("a connection that is not open fails every call instead of crashing") {
    TlsConn c;
    std::uint8_t buf[16];
    CHECK(c.handshake() == TlsStatus::failed);
    CHECK(c.read(buf).status == TlsStatus::failed);
    CHECK(c.write(buf).status == TlsStatus::failed);
    CHECK(c.shutdown() == TlsStatus::failed);
    CHECK(c.pending_output().empty());
    CHECK(c.sni().empty());
    CHECK(c.protocol().empty());
}
