// The client side (`server ... ssl`): verification, SNI, ALPN, resumption per server.
#include <doctest/doctest.h>

#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;
using test::Pki;

namespace {

// A backend server line and the TLS server (our bind) it talks to.
struct Pair {
    std::shared_ptr<const TlsConfig> client_cfg;
    std::unique_ptr<TlsClientContext> client;
    test::Server server;

    explicit Pair(const std::string& server_opts, const std::string& bind_opts = "")
        : server(test::frontend("crt " + Pki::get().dir + " " + bind_opts)) {
        client_cfg = test::tls_config("defaults\n  mode tcp\nbackend be\n  server s1 127.0.0.1:9 ssl " + server_opts + "\n");
        REQUIRE(client_cfg->servers.size() == 1);
        auto c = TlsClientContext::create(client_cfg->servers[0]);
        REQUIRE(c);
        client = std::move(*c);
    }
    // One connection; returns the client's status.
    TlsStatus connect(std::string_view sni, TlsConn& cl, TlsConn& sv) {
        REQUIRE(sv.accept(*server.ctx));
        REQUIRE(cl.connect(*client, sni));
        TlsStatus ss, cs;
        test::handshake(sv, cl, ss, cs);
        return cs;
    }
};

}  // namespace

TEST_CASE("verify required: a server certificate from an unknown CA fails the handshake") {
    Pair p("verify required ca-file " + Pki::get().other_ca_file);
    TlsConn cl, sv;
    CHECK(p.connect("a.test", cl, sv) == TlsStatus::failed);
    CHECK(cl.error() == TlsError::verify);
    CHECK(cl.verify_result() == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);   // our PEMs carry their CA
    CHECK(p.client->stats().failed_verify.read() == 1);
}

TEST_CASE("verify required: the right ca-file passes; with an SNI the certificate must carry that name") {
    Pair p("ca-file " + Pki::get().ca_file);
    {
        TlsConn cl, sv;
        CHECK(p.connect("b.test", cl, sv) == TlsStatus::ok);
        CHECK(cl.verify_result() == X509_V_OK);
        CHECK(cl.sni() == "b.test");
        CHECK(sv.sni() == "b.test");
    }
    {
        // The server answers an unknown name with its default (a.test): not the name asked for.
        TlsConn cl, sv;
        CHECK(p.connect("other.test", cl, sv) == TlsStatus::failed);
        CHECK(cl.error() == TlsError::verify);
        CHECK(cl.verify_result() == X509_V_ERR_HOSTNAME_MISMATCH);
    }
    {
        // No SNI: the chain is verified, the name is not (HAProxy without verifyhost).
        TlsConn cl, sv;
        CHECK(p.connect("", cl, sv) == TlsStatus::ok);
    }
}

TEST_CASE("verify none accepts a certificate from an unknown CA") {
    Pair p("verify none");
    TlsConn cl, sv;
    CHECK(p.connect("a.test", cl, sv) == TlsStatus::ok);
    CHECK(cl.protocol() == "TLSv1.3");
}

TEST_CASE("the server's alpn list is offered and the bind picks from it") {
    Pair p("verify none alpn http/1.1", "alpn h2,http/1.1");
    TlsConn cl, sv;
    REQUIRE(p.connect("a.test", cl, sv) == TlsStatus::ok);
    CHECK(cl.alpn() == "http/1.1");
    CHECK(sv.alpn() == "http/1.1");
}

TEST_CASE("the next connection to the same server resumes its last session, for the same SNI only") {
    Pair p("ca-file " + Pki::get().ca_file);
    {
        TlsConn cl, sv;
        REQUIRE(p.connect("a.test", cl, sv) == TlsStatus::ok);
        CHECK_FALSE(cl.session_reused());
    }
    CHECK(p.client->has_session());
    {
        TlsConn cl, sv;
        REQUIRE(p.connect("a.test", cl, sv) == TlsStatus::ok);
        CHECK(cl.session_reused());
        CHECK(p.client->stats().resumed.read() == 1);
    }
    {
        TlsConn cl, sv;
        REQUIRE(p.connect("b.test", cl, sv) == TlsStatus::ok);
        CHECK_FALSE(cl.session_reused());
    }
}

TEST_CASE("data written on the client side reaches the server side") {
    Pair p("verify none");
    TlsConn cl, sv;
    REQUIRE(p.connect("a.test", cl, sv) == TlsStatus::ok);
    std::string msg = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    auto w = cl.write({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
    CHECK(w.bytes == msg.size());
    CHECK(w.status == TlsStatus::ok);
    auto out = cl.pending_output();
    std::string wire(reinterpret_cast<const char*>(out.data()), out.size());
    cl.consume_output(out.size());
    sv.feed({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
    std::uint8_t buf[256];
    auto r = sv.read(buf);
    CHECK(std::string(reinterpret_cast<char*>(buf), r.bytes) == msg);
    CHECK(sv.release_input() == wire.size());
}

TEST_CASE("a connection counts as open on its context from accept or connect until close, once, however it ended") {
    // CurrSslConns sums TlsStats::open: it must come back to 0 after every kind of end.
    Pair ok("verify none");
    Pair bad("verify required ca-file " + Pki::get().other_ca_file);   // the handshake fails
    {
        TlsConn cl, sv;
        REQUIRE(ok.connect("a.test", cl, sv) == TlsStatus::ok);
        CHECK(ok.client->stats().open.read() == 1);
        CHECK(ok.server.ctx->stats().open.read() == 1);
        sv.close();
        sv.close();   // idempotent: counted down once
        CHECK(ok.server.ctx->stats().open.read() == 0);
        CHECK(ok.client->stats().open.read() == 1);
        REQUIRE(cl.connect(*ok.client, "a.test"));   // reused: the previous one closes first
        CHECK(ok.client->stats().open.read() == 1);
    }   // the destructor closes
    CHECK(ok.client->stats().open.read() == 0);
    {
        TlsConn cl, sv;
        REQUIRE(bad.connect("a.test", cl, sv) == TlsStatus::failed);
        CHECK(cl.error() == TlsError::verify);
        CHECK(bad.client->stats().open.read() == 1);   // failed, but open until closed
        CHECK(bad.server.ctx->stats().open.read() == 1);
    }
    CHECK(bad.client->stats().open.read() == 0);
    CHECK(bad.server.ctx->stats().open.read() == 0);
}
