#include "proxy/tls_context.hh"

#include <algorithm>
#include <cstring>
#include <new>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "proxy/stats_source.hh"
#include "proxy/tls_conn.hh"

namespace skjold::proxy {

namespace {

char kTicketDigest[] = "SHA256";   // OSSL_PARAM wants a mutable buffer; never written

}  // namespace

core::Result<std::unique_ptr<TlsShared>> TlsShared::create(std::size_t cache_entries) {
    std::unique_ptr<TlsShared> s(new TlsShared());
    s->aes_.reset(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
    if (!s->aes_) return core::fail(core::Errc::unsupported, "TLS session tickets: AES-256-CBC: " + ossl_reason());
    if (cache_entries > 0) {
        try {
            s->cache_ = std::make_unique<TlsSessionCache>(cache_entries);
        } catch (const std::bad_alloc&) {
            return core::fail(core::Errc::no_memory, "tune.ssl.cachesize " + std::to_string(cache_entries) +
                                                         ": cannot map the TLS session cache");
        }
    }
    return s;
}

bool configure_tls_ctx(SSL_CTX* c, const TlsProtocolOptions& p, bool server, std::string& err) {
    if (SSL_CTX_set_min_proto_version(c, p.min_version) != 1 || SSL_CTX_set_max_proto_version(c, p.max_version) != 1) {
        err = "unsupported TLS version range: " + ossl_reason();
        return false;
    }
    std::uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                         SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION | p.options;
    if (server && !p.prefer_client_ciphers) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(c, opts);
    // Partial writes and a moving buffer: TlsConn::write() hands over what it has each time.
    // Released buffers: an idle keep-alive connection holds no 34 KB of record buffers.
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(c, 1);   // take whole received chunks at once; the BIO never blocks
    if (SSL_CTX_set_cipher_list(c, p.ciphers.c_str()) != 1) {
        err = "ciphers '" + p.ciphers + "': " + ossl_reason();
        return false;
    }
    if (SSL_CTX_set_ciphersuites(c, p.ciphersuites.c_str()) != 1) {
        err = "ciphersuites '" + p.ciphersuites + "': " + ossl_reason();
        return false;
    }
    if (!p.curves.empty() && SSL_CTX_set1_groups_list(c, p.curves.c_str()) != 1) {
        err = "curves '" + p.curves + "': " + ossl_reason();
        return false;
    }
    return true;
}

// ---- server side ------------------------------------------------------------------------

core::Result<std::unique_ptr<TlsContext>> TlsContext::create(const TlsBindConfig& bind, const TlsConfig& cfg,
                                                             TlsShared* shared) {
    std::unique_ptr<TlsContext> t(new TlsContext());
    t->bind_ = &bind;
    t->shared_ = shared;
    long timeout_s = static_cast<long>(std::max<std::int64_t>(1, cfg.lifetime_ms / 1000));
    bool cache = shared != nullptr && shared->session_cache() != nullptr && cfg.cache_entries > 0;
    for (const auto& group : bind.groups) {
        SslCtxPtr c(SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method()));
        if (!c) return core::fail(core::Errc::no_memory, "SSL_CTX_new: " + ossl_reason());
        std::string err;
        if (!configure_tls_ctx(c.get(), bind.proto, true, err)) return core::fail(core::Errc::invalid_argument, err);
        for (int ci : group) {
            const TlsCert& cert = *cfg.certs[static_cast<std::size_t>(ci)];
            // Up-refs leaf, key and chain: one parsed copy serves every worker.
            if (SSL_CTX_use_cert_and_key(c.get(), cert.leaf.get(), cert.key.get(), cert.chain.get(), 1) != 1)
                return core::fail(core::Errc::invalid_argument, "crt '" + cert.file + "': " + ossl_reason());
        }
        SSL_CTX_set_app_data(c.get(), t.get());
        SSL_CTX_set_client_hello_cb(c.get(), on_client_hello, t.get());
        SSL_CTX_set_tlsext_servername_callback(c.get(), on_servername);
        if (!bind.proto.alpn.empty()) SSL_CTX_set_alpn_select_cb(c.get(), on_alpn, t.get());
        SSL_CTX_set_session_id_context(c.get(), bind.sid_ctx, sizeof(bind.sid_ctx));
        SSL_CTX_set_timeout(c.get(), timeout_s);
        SSL_CTX_set_dh_auto(c.get(), 1);   // the DHE suites of the intermediate list, for old clients
        if (!bind.tickets) SSL_CTX_set_options(c.get(), SSL_OP_NO_TICKET);
        else if (shared != nullptr) SSL_CTX_set_tlsext_ticket_key_evp_cb(c.get(), on_ticket_key);
        if (cache) {
            // Only our shared cache: OpenSSL's internal one would be a second, per-worker copy.
            SSL_CTX_set_session_cache_mode(c.get(), SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL |
                                                        SSL_SESS_CACHE_NO_AUTO_CLEAR);
            SSL_CTX_sess_set_new_cb(c.get(), on_new_session);
            SSL_CTX_sess_set_get_cb(c.get(), on_get_session);
            SSL_CTX_sess_set_remove_cb(c.get(), on_remove_session);
            // TLS 1.3 under no-tls-tickets: each ticket is a cache entry; one per handshake
            // instead of OpenSSL's two halves the cache churn.
            if (!bind.tickets) SSL_CTX_set_num_tickets(c.get(), 1);
        } else {
            SSL_CTX_set_session_cache_mode(c.get(), SSL_SESS_CACHE_OFF);
            // TLS 1.3 without tickets sends stateful tickets that nothing could look up.
            if (!bind.tickets) SSL_CTX_set_num_tickets(c.get(), 0);
        }
        t->ctx_.push_back(std::move(c));
    }
    if (t->ctx_.empty()) return core::fail(core::Errc::invalid_argument, "no certificate");
    return t;
}

SSL* TlsContext::new_ssl() noexcept { return SSL_new(ctx_[0].get()); }

TlsContext* TlsContext::from(const SSL* s) noexcept {
    return static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(s)));
}

// Runs once the ClientHello is parsed, before OpenSSL picks a certificate: moves the
// connection to the SSL_CTX of its SNI's group. Which of that group's certificates (ECDSA or
// RSA) is used is then OpenSSL's own negotiation over the client's signature algorithms
// (TLS 1.3) or cipher suites and signature algorithms (TLS 1.2), exactly, curve checks included.
int TlsContext::on_client_hello(SSL* s, int* alert, void* arg) noexcept {
    auto* self = static_cast<TlsContext*>(arg);
    if (auto* conn = static_cast<TlsConn*>(SSL_get_app_data(s))) conn->note_client_hello();
    if (self->ctx_.size() <= 1) return SSL_CLIENT_HELLO_SUCCESS;
    const unsigned char* p = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) != 1) return SSL_CLIENT_HELLO_SUCCESS;
    // ServerNameList: u16 length, then { u8 type, u16 length, name }. A malformed one is left
    // to OpenSSL's own parser, which rejects it next.
    if (len < 5 || (std::size_t{p[0]} << 8 | p[1]) + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name)
        return SSL_CLIENT_HELLO_SUCCESS;
    std::size_t n = std::size_t{p[3]} << 8 | p[4];
    if (n + 5 > len) return SSL_CLIENT_HELLO_SUCCESS;
    int g = self->bind_->group_for({reinterpret_cast<const char*>(p + 5), n});
    if (g != 0 && SSL_set_SSL_CTX(s, self->ctx_[static_cast<std::size_t>(g)].get()) == nullptr) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

// Accepting the name (the certificate was already chosen by on_client_hello) makes OpenSSL
// acknowledge SNI and keep it in the session: ssl_fc_sni after a TLS 1.2 resumption, and
// clients that resume only for the same name.
int TlsContext::on_servername(SSL*, int*, void*) noexcept { return SSL_TLSEXT_ERR_OK; }

// The first of our protocols the client also offers (server order, as HAProxy); none in
// common: no ALPN in the answer, the handshake goes on.
int TlsContext::on_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                        unsigned int inlen, void* arg) noexcept {
    const auto& mine = static_cast<TlsContext*>(arg)->bind_->proto.alpn;
    unsigned char* sel = nullptr;
    if (SSL_select_next_proto(&sel, outlen, mine.data(), static_cast<unsigned int>(mine.size()), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

// Tickets under the process-wide keys (TlsTicketKeys), so any worker resumes any ticket.
// Returns 1: use the key; 2: use it and issue a fresh ticket; 0: unknown key or no key (full
// handshake); -1: failure. A fresh ticket comes with every TLS 1.3 resumption (what OpenSSL
// does with its own keys, and RFC 8446 asks clients to use each ticket once): a client that
// resumes from its last connection's session (wrk, SSL_clear) otherwise has no ticket after
// a resumed connection and falls back to a full handshake every other time. TLS 1.2 gets a
// new one only when its key is no longer the current one (its ticket stays usable).
int TlsContext::on_ticket_key(SSL* s, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                              EVP_MAC_CTX* hctx, int enc) noexcept {
    TlsContext* self = from(s);
    TlsShared& sh = *self->shared_;
    TlsTicketKeys::Key k;
    bool is_current = true;
    int rc = 1;
    if (enc != 0) {
        if (!sh.ticket_keys().current(k)) return 0;
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(sh.ticket_cipher())) != 1) rc = -1;
        std::memcpy(name, k.name, sizeof(k.name));
    } else if (!sh.ticket_keys().find(name, k, is_current)) {
        return 0;
    }
    if (rc == 1) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac)),
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kTicketDigest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_MAC_CTX_set_params(hctx, params) != 1) rc = -1;
        else if (enc != 0 && EVP_EncryptInit_ex(cctx, sh.ticket_cipher(), nullptr, k.aes, iv) != 1) rc = -1;
        else if (enc == 0 && EVP_DecryptInit_ex(cctx, sh.ticket_cipher(), nullptr, k.aes, iv) != 1) rc = -1;
    }
    OPENSSL_cleanse(&k, sizeof(k));
    if (rc == 1 && enc == 0 && (!is_current || SSL_version(s) == TLS1_3_VERSION)) rc = 2;
    return rc;
}

int TlsContext::on_new_session(SSL* s, SSL_SESSION* sess) noexcept {
    // TLS 1.3 with (stateless) tickets: the ticket is the session; OpenSSL still reports it.
    if (SSL_version(s) == TLS1_3_VERSION && (SSL_get_options(s) & SSL_OP_NO_TICKET) == 0) return 0;
    TlsContext* self = from(s);
    if (self->shared_->session_cache()->store(sess) == TlsSessionCache::Store::stored) self->stats_.cache_stores.add();
    else self->stats_.cache_drops.add();
    return 0;   // no reference kept: the cache holds a serialised copy
}

SSL_SESSION* TlsContext::on_get_session(SSL* s, const unsigned char* id, int len, int* copy) noexcept {
    TlsContext* self = from(s);
    *copy = 0;   // the returned session's one reference goes to OpenSSL
    SSL_SESSION* r = self->shared_->session_cache()->lookup(id, static_cast<std::size_t>(len));
    (r != nullptr ? self->stats_.cache_hits : self->stats_.cache_misses).add();
    return r;
}

void TlsContext::on_remove_session(SSL_CTX* c, SSL_SESSION* sess) noexcept {
    auto* self = static_cast<TlsContext*>(SSL_CTX_get_app_data(c));
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(sess, &len);
    self->shared_->session_cache()->remove(id, len);
}

// ---- client side ------------------------------------------------------------------------

core::Result<std::unique_ptr<TlsClientContext>> TlsClientContext::create(const TlsServerConfig& server) {
    std::unique_ptr<TlsClientContext> t(new TlsClientContext());
    t->server_ = &server;
    t->ctx_.reset(SSL_CTX_new_ex(nullptr, nullptr, TLS_client_method()));
    SSL_CTX* c = t->ctx_.get();
    if (c == nullptr) return core::fail(core::Errc::no_memory, "SSL_CTX_new: " + ossl_reason());
    std::string err;
    if (!configure_tls_ctx(c, server.proto, false, err)) return core::fail(core::Errc::invalid_argument, err);
    if (server.verify) {
        // A store per worker: verification takes the store's lock. The CA certificates are
        // duplicated in memory (not re-read) so no lock word is shared between workers either.
        X509_STORE* st = X509_STORE_new();
        if (st == nullptr) return core::fail(core::Errc::no_memory, "X509_STORE_new");
        SSL_CTX_set_cert_store(c, st);   // owned by the SSL_CTX from here
        for (const auto& ca : server.ca) {
            X509Ptr dup(X509_dup(ca.get()));
            if (!dup || X509_STORE_add_cert(st, dup.get()) != 1)
                return core::fail(core::Errc::invalid_argument, "ca-file: " + ossl_reason());
        }
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    if (!server.proto.alpn.empty() &&
        SSL_CTX_set_alpn_protos(c, server.proto.alpn.data(), static_cast<unsigned int>(server.proto.alpn.size())) != 0)
        return core::fail(core::Errc::invalid_argument, "alpn: " + ossl_reason());
    if (!server.tickets) SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, on_new_session);
    SSL_CTX_set_app_data(c, t.get());
    return t;
}

TlsClientContext::~TlsClientContext() { forget_session(); }

void TlsClientContext::forget_session() noexcept {
    if (last_ != nullptr) SSL_SESSION_free(last_);
    last_ = nullptr;
}

SSL* TlsClientContext::new_ssl(std::string_view sni) noexcept {
    SSL* s = SSL_new(ctx_.get());
    if (s == nullptr) return nullptr;
    char name[256];
    bool has_name = !sni.empty() && sni.size() < sizeof(name);
    if (has_name) {
        std::memcpy(name, sni.data(), sni.size());
        name[sni.size()] = '\0';
        if (SSL_set_tlsext_host_name(s, name) != 1 || (server_->verify && SSL_set1_host(s, name) != 1)) {
            SSL_free(s);
            ERR_clear_error();
            return nullptr;
        }
    }
    // The name the session was made with (ours: a server need not acknowledge SNI).
    if (last_ != nullptr && SSL_SESSION_is_resumable(last_) == 1 &&
        std::string_view(last_sni_, last_sni_len_) == (has_name ? sni : std::string_view()))
        SSL_set_session(s, last_);   // takes its own reference
    SSL_set_connect_state(s);
    return s;
}

int TlsClientContext::on_new_session(SSL* s, SSL_SESSION* sess) noexcept {
    auto* self = static_cast<TlsClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(s)));
    if (self->last_ != nullptr) SSL_SESSION_free(self->last_);
    self->last_ = sess;
    const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    std::size_t len = name != nullptr ? std::strlen(name) : 0;
    self->last_sni_len_ = static_cast<std::uint8_t>(len < sizeof(self->last_sni_) ? len : 0);
    if (self->last_sni_len_ > 0) std::memcpy(self->last_sni_, name, self->last_sni_len_);
    return 1;   // the reference is ours now
}

// ---- per worker -------------------------------------------------------------------------

core::Result<std::unique_ptr<TlsWorker>> TlsWorker::build(std::shared_ptr<const TlsConfig> cfg, TlsShared& shared) {
    auto w = std::make_unique<TlsWorker>();
    w->cfg_ = std::move(cfg);
    for (const auto& b : w->cfg_->binds) {
        auto c = TlsContext::create(b, *w->cfg_, &shared);
        if (!c) return core::fail(c.error().code, b.loc.str() + ": " + b.label + ": " + c.error().detail);
        w->binds_.push_back(std::move(*c));
    }
    for (const auto& s : w->cfg_->servers) {
        auto c = TlsClientContext::create(s);
        if (!c) return core::fail(c.error().code, s.loc.str() + ": " + s.label + ": " + c.error().detail);
        w->servers_.push_back(std::move(*c));
    }
    return w;
}

TlsContext* TlsWorker::bind(int proxy, int bind) noexcept {
    for (std::size_t i = 0; i < binds_.size(); ++i)
        if (cfg_->binds[i].proxy == proxy && cfg_->binds[i].bind == bind) return binds_[i].get();
    return nullptr;
}

void TlsWorker::add_totals(TlsTotals& t) const noexcept {
    for (const auto& b : binds_)
        if (b) {
            t.fe_handshakes += b->stats().handshakes.read();
            t.fe_resumed += b->stats().resumed.read();
            t.fe_open += b->stats().open.read();
        }
    for (const auto& s : servers_)
        if (s) {
            t.be_handshakes += s->stats().handshakes.read();
            t.be_resumed += s->stats().resumed.read();
            t.be_open += s->stats().open.read();
        }
}

TlsClientContext* TlsWorker::server(int proxy, int server) noexcept {
    for (std::size_t i = 0; i < servers_.size(); ++i)
        if (cfg_->servers[i].proxy == proxy && cfg_->servers[i].server == server) return servers_[i].get();
    return nullptr;
}

}  // namespace skjold::proxy
