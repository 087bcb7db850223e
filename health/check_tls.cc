#include "health/check_tls.hh"

#include <cstring>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace skjold::health {

bool check_uses_tls(const conf::Server& srv) noexcept {
    return srv.opt.check_ssl || (srv.opt.ssl && srv.opt.check_port == 0 && !srv.opt.check_addr);
}

core::Result<std::unique_ptr<CheckTls>> CheckTls::create(const conf::Server& srv, const conf::Global& g) {
    std::unique_ptr<CheckTls> t(new CheckTls());
    t->ctx_ = SSL_CTX_new(TLS_client_method());
    if (t->ctx_ == nullptr) return core::fail(core::Errc::no_memory, "SSL_CTX_new");
    SSL_CTX_set_min_proto_version(t->ctx_, TLS1_2_VERSION);
    // A check that reads until the server closes: an EOF without close_notify is the end.
    SSL_CTX_set_options(t->ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    const auto& so = g.ssl_server;
    if ((!so.ciphers.empty() && SSL_CTX_set_cipher_list(t->ctx_, so.ciphers.c_str()) != 1) ||
        (!so.ciphersuites.empty() && SSL_CTX_set_ciphersuites(t->ctx_, so.ciphersuites.c_str()) != 1)) {
        ERR_clear_error();
        return core::fail(core::Errc::invalid_argument, "ssl-default-server-ciphers: refused by OpenSSL");
    }
    if (so.no_tls_tickets) SSL_CTX_set_options(t->ctx_, SSL_OP_NO_TICKET);
    t->verify_ = srv.opt.verify_required;
    if (t->verify_) {
        if (SSL_CTX_load_verify_locations(t->ctx_, srv.opt.ca_file.c_str(), nullptr) != 1) {
            ERR_clear_error();
            return core::fail(core::Errc::invalid_argument, "ca-file '" + srv.opt.ca_file + "': cannot load");
        }
        SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_NONE, nullptr);
    }
    SSL_CTX_set_session_cache_mode(t->ctx_, SSL_SESS_CACHE_OFF);
    const std::string& e = srv.opt.sni;   // only a literal makes sense without a request
    if (e.size() > 5 && e.starts_with("str(") && e.back() == ')') t->sni_ = e.substr(4, e.size() - 5);
    return t;
}

CheckTls::~CheckTls() {
    forget_session();
    SSL_CTX_free(ctx_);
}

SSL* CheckTls::start(int fd) noexcept {
    SSL* s = SSL_new(ctx_);
    if (s == nullptr) return nullptr;
    bool ok = SSL_set_fd(s, fd) == 1;
    if (ok && !sni_.empty()) {
        ok = SSL_set_tlsext_host_name(s, sni_.c_str()) == 1 && (!verify_ || SSL_set1_host(s, sni_.c_str()) == 1);
    }
    if (!ok) {
        SSL_free(s);
        ERR_clear_error();
        return nullptr;
    }
    if (last_ != nullptr) SSL_set_session(s, last_);
    SSL_set_connect_state(s);
    return s;
}

void CheckTls::keep_session(SSL* ssl) noexcept {
    SSL_SESSION* s = SSL_get1_session(ssl);
    if (s == nullptr) return;
    forget_session();
    last_ = s;
}

void CheckTls::forget_session() noexcept {
    if (last_ != nullptr) SSL_SESSION_free(last_);
    last_ = nullptr;
}

std::string check_tls_error(SSL* ssl, int ssl_error) {
    std::string out;
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
        out = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
    } else if (unsigned long e = ERR_peek_last_error(); e != 0) {
        const char* r = ERR_reason_error_string(e);
        out = std::string("SSL handshake failure: ") + (r != nullptr ? r : "unknown");
    } else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
        out = "SSL handshake failure: connection closed";
    } else {
        out = "SSL handshake failure";
    }
    ERR_clear_error();
    return out;
}

}  // namespace skjold::health
