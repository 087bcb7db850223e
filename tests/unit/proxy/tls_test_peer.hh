#pragma once
// Test-time PKI (certificates generated with the OpenSSL API: no private key is committed) and
// an in-memory OpenSSL client that pumps bytes with a TlsConn. No socket, no doctest: shared by
// the tls unit tests (tls_test_util.hh) and bench/tls_bench.cc.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <time.h>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "proxy/tls_conn.hh"
#include "proxy/tls_ptr.hh"

namespace skjold::test {

using proxy::PkeyPtr;
using proxy::X509Ptr;

// CPU time of the calling thread: the benchmark's measure of the server side, which other
// processes on the machine do not inflate the way wall time is.
inline std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "test PKI: %s failed\n", what);
    std::abort();
}

inline PkeyPtr ec_key() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }
inline PkeyPtr rsa_key(int bits = 2048) { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits))); }

// A certificate for `cn` with DNS SANs, signed by issuer (self-signed when issuer is null).
inline X509Ptr make_cert(EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& sans, X509* issuer,
                         EVP_PKEY* issuer_key, bool ca) {
    X509Ptr x(X509_new());
    if (!x) die("X509_new");
    X509_set_version(x.get(), 2);
    unsigned char serial[8];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x.get(), key);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer != nullptr ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    auto add_ext = [&](int nid, const std::string& value) {
        X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        if (e == nullptr) die("X509V3_EXT_conf_nid");
        X509_add_ext(x.get(), e, -1);
        X509_EXTENSION_free(e);
    };
    add_ext(NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) add_ext(NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!sans.empty()) {
        std::string v;
        for (const auto& s : sans) v += (v.empty() ? "DNS:" : ",DNS:") + s;
        add_ext(NID_subject_alt_name, v);
    }
    if (X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) die("X509_sign");
    return x;
}

inline std::string pem_of(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

inline std::string pem_of(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

inline void write_file(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}

// Generated once per process (tests and benchmark): two CAs, and server certificates signed by `ca`:
//   dir/a.pem      ECDSA  CN a.test, SAN a.test, www.a.test       (first in the directory)
//   dir/b.pem      ECDSA  CN b.test, SAN b.test
//   dir/dual-ec.pem ECDSA SAN dual.test;  dir/dual-rsa.pem  RSA 2048  SAN dual.test
//   dir/wild.pem   ECDSA  SAN *.wild.test
//   rsa.pem        RSA 2048 CN rsa.test (outside the directory)
//   ca.pem / other-ca.pem: the CAs' certificates (for ca-file)
struct Pki {
    std::string root, dir, ca_file, other_ca_file, rsa_file, a_file;
    PkeyPtr ca_key, other_ca_key;
    X509Ptr ca, other_ca;

    static Pki& get() {
        static Pki p;
        return p;
    }
    // A leaf + chain + key PEM file signed by the test CA.
    std::string issue(const std::string& path, EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& sans,
                      bool with_chain = true) {
        X509Ptr leaf = make_cert(key, cn, sans, ca.get(), ca_key.get(), false);
        write_file(path, pem_of(leaf.get()) + (with_chain ? pem_of(ca.get()) : "") + pem_of(key));
        return path;
    }
    ~Pki() {
        std::error_code ec;
        std::filesystem::remove_all(root, ec);
    }

private:
    Pki() {
        char tmpl[] = "/tmp/skjold-tls-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) die("mkdtemp");
        root = tmpl;
        dir = root + "/certs";
        std::filesystem::create_directory(dir);
        ca_key = ec_key();
        ca = make_cert(ca_key.get(), "skjold test CA", {}, nullptr, nullptr, true);
        other_ca_key = ec_key();
        other_ca = make_cert(other_ca_key.get(), "other CA", {}, nullptr, nullptr, true);
        ca_file = root + "/ca.pem";
        write_file(ca_file, pem_of(ca.get()));
        other_ca_file = root + "/other-ca.pem";
        write_file(other_ca_file, pem_of(other_ca.get()));
        auto k1 = ec_key(), k2 = ec_key(), k3 = ec_key(), k4 = ec_key();
        auto r1 = rsa_key(), r2 = rsa_key();
        a_file = issue(dir + "/a.pem", k1.get(), "a.test", {"a.test", "www.a.test"});
        issue(dir + "/b.pem", k2.get(), "b.test", {"b.test"});
        issue(dir + "/dual-ec.pem", k3.get(), "dual.test", {"dual.test"});
        issue(dir + "/dual-rsa.pem", r1.get(), "dual.test", {"dual.test"});
        issue(dir + "/wild.pem", k4.get(), "wild", {"*.wild.test"});
        rsa_file = issue(root + "/rsa.pem", r2.get(), "rsa.test", {"rsa.test"});
    }
};

// A plain OpenSSL client on memory BIOs, configurable beyond what TlsClientContext offers.
struct RawClient {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    BIO* in = nullptr;    // bytes from the server
    BIO* out = nullptr;   // bytes to the server
    unsigned long last_error = 0;   // OpenSSL's error code of the last failed step()

    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    explicit RawClient(const std::function<void(SSL_CTX*)>& setup = {}) {
        ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr) die("SSL_CTX_new");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        if (setup) setup(ctx);
    }
    void start(const char* sni = nullptr, SSL_SESSION* resume = nullptr) {
        close();
        ssl = SSL_new(ctx);
        in = BIO_new(BIO_s_mem());
        out = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in, -1);
        SSL_set_bio(ssl, in, out);
        if (sni != nullptr) SSL_set_tlsext_host_name(ssl, sni);
        if (resume != nullptr) SSL_set_session(ssl, resume);
        SSL_set_connect_state(ssl);
    }
    // Freed as after a clean close, so that the session stays resumable.
    void close() {
        if (ssl == nullptr) return;
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(ssl);
        ssl = nullptr;
    }
    ~RawClient() {
        close();
        SSL_CTX_free(ctx);
    }
    std::string take_output() {
        std::string s;
        char buf[4096];
        int n;
        while ((n = BIO_read(out, buf, sizeof(buf))) > 0) s.append(buf, static_cast<std::size_t>(n));
        return s;
    }
    void give(std::span<const std::uint8_t> b) { BIO_write(in, b.data(), static_cast<int>(b.size())); }
    int step() {   // 1 done, 0 in progress, -1 failed
        int rc = SSL_do_handshake(ssl);
        if (rc == 1) {
            // Process what follows the handshake (TLS 1.3 tickets) without blocking.
            char b[256];
            int n = SSL_read(ssl, b, sizeof(b));
            (void)n;
            ERR_clear_error();
            return 1;
        }
        int e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) last_error = ERR_peek_last_error();
        ERR_clear_error();
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
    }
    std::string peer_cn() const {
        X509* x = SSL_get0_peer_certificate(ssl);
        if (x == nullptr) return "";
        char buf[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
        return buf;
    }
    bool peer_key_is(const char* type) const {
        X509* x = SSL_get0_peer_certificate(ssl);
        return x != nullptr && EVP_PKEY_is_a(X509_get0_pubkey(x), type);
    }
};

struct HsResult {
    proxy::TlsStatus server = proxy::TlsStatus::want_input;
    int client = 0;
};

inline void deliver_to_server(proxy::TlsConn& s, std::string& pipe) {
    s.feed({reinterpret_cast<const std::uint8_t*>(pipe.data()), pipe.size()});
}

// Moves bytes both ways until both sides finish or one fails (bounded rounds). server_ns, when
// given, adds the CPU time of the server's calls (for the benchmark).
inline HsResult handshake(proxy::TlsConn& server, RawClient& client, std::int64_t* server_ns = nullptr) {
    HsResult r;
    std::string to_server;
    for (int round = 0; round < 20; ++round) {
        if (r.client == 0) r.client = client.step();
        to_server += client.take_output();
        deliver_to_server(server, to_server);
        if (r.server != proxy::TlsStatus::ok && r.server != proxy::TlsStatus::failed) {
            std::int64_t t0 = server_ns != nullptr ? thread_cpu_ns() : 0;
            r.server = server.handshake();
            if (server_ns != nullptr) *server_ns += thread_cpu_ns() - t0;
        }
        to_server.erase(0, server.release_input());
        auto out = server.pending_output();
        client.give(out);
        server.consume_output(out.size());
        if (r.server == proxy::TlsStatus::failed || r.client < 0) {
            if (r.client == 0) r.client = client.step();   // the alert the server sent
            break;
        }
        if (r.server == proxy::TlsStatus::ok && r.client == 1 && to_server.empty() && out.empty()) break;
    }
    if (r.client == 1) {   // tickets the server sent after its Finished
        client.step();
    }
    return r;
}

// Two TlsConns (client side to server side) until both finish or one fails.
inline void handshake(proxy::TlsConn& server, proxy::TlsConn& client, proxy::TlsStatus& ss, proxy::TlsStatus& cs) {
    ss = cs = proxy::TlsStatus::want_input;
    std::string to_server, to_client;
    auto done = [](proxy::TlsStatus s) { return s == proxy::TlsStatus::ok || s == proxy::TlsStatus::failed; };
    for (int round = 0; round < 20; ++round) {
        client.feed({reinterpret_cast<const std::uint8_t*>(to_client.data()), to_client.size()});
        if (!done(cs)) cs = client.handshake();
        to_client.erase(0, client.release_input());
        auto o = client.pending_output();
        to_server.append(reinterpret_cast<const char*>(o.data()), o.size());
        client.consume_output(o.size());
        server.feed({reinterpret_cast<const std::uint8_t*>(to_server.data()), to_server.size()});
        if (!done(ss)) ss = server.handshake();
        to_server.erase(0, server.release_input());
        o = server.pending_output();
        to_client.append(reinterpret_cast<const char*>(o.data()), o.size());
        server.consume_output(o.size());
        if (cs == proxy::TlsStatus::failed || ss == proxy::TlsStatus::failed) break;
        if (done(cs) && done(ss) && to_server.empty() && to_client.empty()) break;
    }
    // The client reads what followed the server's Finished (TLS 1.3 tickets).
    client.feed({reinterpret_cast<const std::uint8_t*>(to_client.data()), to_client.size()});
    std::uint8_t sink[64];
    if (cs == proxy::TlsStatus::ok) (void)client.read(sink);
    client.release_input();
}

}  // namespace skjold::test
