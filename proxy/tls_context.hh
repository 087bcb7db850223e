#pragma once
// The SSL_CTXs a worker uses, built from a TlsConfig on the control thread (no file is read:
// certificates and keys are up-ref'd from the TlsConfig) and then used by that worker only.
//
// Why one set per worker: OpenSSL 3.0 takes locks inside a shared SSL_CTX on every handshake
// (its session cache and statistics, reference counts, the ex_data and method stores), and
// HAProxy's maintainers measured several times the 1.1.1 cost when threads share one (haproxy
// issues 1903, 2454). bench/tls_bench.cc measures shared against per-worker here.
//
// Ownership: the process keeps one TlsShared for its whole life (ticket keys and session cache
// survive reloads); each worker keeps one TlsWorker per configuration generation, and must keep
// it until the last connection made from it is closed (OpenSSL callbacks reach the TlsContext
// through the SSL_CTX).

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/counter.hh"
#include "core/result.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_ptr.hh"
#include "proxy/tls_session_cache.hh"
#include "proxy/tls_ticket_keys.hh"

namespace skjold::proxy {

// Process-lived state every worker reads and no worker locks.
class TlsShared {
public:
    // cache_entries: tune.ssl.cachesize of the first configuration (0: no session cache). A
    // reload keeps the cache (its size cannot change while workers use it) and the keys.
    static core::Result<std::unique_ptr<TlsShared>> create(std::size_t cache_entries);

    TlsTicketKeys& ticket_keys() noexcept { return keys_; }
    TlsSessionCache* session_cache() noexcept { return cache_.get(); }
    // AES-256-CBC for the ticket callback, fetched once: a fetch by name goes through
    // OpenSSL's method store (a lock), a fetched object does not. (The ticket HMAC can only be
    // named, "SHA256": the provider fetches it; libssl's own algorithms are fetched once per
    // SSL_CTX by SSL_CTX_new, so once per worker.)
    const EVP_CIPHER* ticket_cipher() const noexcept { return aes_.get(); }

private:
    TlsShared() = default;
    TlsTicketKeys keys_;
    std::unique_ptr<TlsSessionCache> cache_;
    CipherPtr aes_;
};

// One worker's TLS counters (single writer: that worker; summed by the stats socket).
struct TlsStats {
    core::Counter handshakes;        // completed
    core::Counter resumed;           // of which resumed (ticket or cache)
    core::Counter failed;            // every failed handshake, and per class below
    core::Counter failed_not_tls, failed_truncated, failed_version, failed_negotiation,
                  failed_verify, failed_alert, failed_other;
    core::Counter cache_stores, cache_drops, cache_hits, cache_misses;
    // A gauge, not a total: the TlsConns set up on this context and not closed yet (+1 when
    // TlsConn::accept/connect creates the SSL, -1 when TlsConn::close frees it; never below 0).
    core::Counter open;
};

// Server side: one per worker per `bind ... ssl`. One SSL_CTX per certificate group (what one
// SNI name selects); connections start on group 0 (the default) and the client-hello callback
// moves them to the group of their SNI before the certificate is chosen.
class TlsContext {
public:
    // `bind` and `shared` must outlive the context. Fails when OpenSSL refuses an option
    // (the message names it) or a certificate; load_tls_config() uses the same path to check.
    static core::Result<std::unique_ptr<TlsContext>> create(const TlsBindConfig& bind, const TlsConfig& cfg,
                                                            TlsShared* shared);
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // Data path (TlsConn::accept): a server SSL on the default group; null when out of memory.
    SSL* new_ssl() noexcept;
    const TlsBindConfig& config() const noexcept { return *bind_; }
    TlsStats& stats() noexcept { return stats_; }
    SSL_CTX* group_ctx(int g) const noexcept { return ctx_[static_cast<std::size_t>(g)].get(); }

private:
    TlsContext() = default;
    static int on_client_hello(SSL* s, int* alert, void* arg) noexcept;
    static int on_servername(SSL* s, int* alert, void* arg) noexcept;
    static int on_alpn(SSL* s, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                       unsigned int inlen, void* arg) noexcept;
    static int on_ticket_key(SSL* s, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                             EVP_MAC_CTX* hctx, int enc) noexcept;
    static int on_new_session(SSL* s, SSL_SESSION* sess) noexcept;
    static SSL_SESSION* on_get_session(SSL* s, const unsigned char* id, int len, int* copy) noexcept;
    static void on_remove_session(SSL_CTX* c, SSL_SESSION* sess) noexcept;
    static TlsContext* from(const SSL* s) noexcept;

    const TlsBindConfig* bind_ = nullptr;
    TlsShared* shared_ = nullptr;
    std::vector<SslCtxPtr> ctx_;      // by group
    TlsStats stats_;
};

// Client side: one per worker per `server ... ssl`. Keeps the server's last session for
// resumption (HAProxy keeps one per server and thread too).
class TlsClientContext {
public:
    static core::Result<std::unique_ptr<TlsClientContext>> create(const TlsServerConfig& server);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    // Data path (TlsConn::connect). `sni`: the evaluated `sni` expression, or empty (no SNI and,
    // as in HAProxy without verifyhost, no name check; the chain is still verified). With
    // verify required and an SNI, the certificate must match that name. Resumes the last
    // session when it was made for the same SNI. Null when out of memory.
    SSL* new_ssl(std::string_view sni) noexcept;
    // After a failed handshake: do not offer the kept session again.
    void forget_session() noexcept;
    bool has_session() const noexcept { return last_ != nullptr; }
    const TlsServerConfig& config() const noexcept { return *server_; }
    TlsStats& stats() noexcept { return stats_; }

private:
    TlsClientContext() = default;
    static int on_new_session(SSL* s, SSL_SESSION* sess) noexcept;

    const TlsServerConfig* server_ = nullptr;
    SslCtxPtr ctx_;
    SSL_SESSION* last_ = nullptr;     // one reference, owned
    char last_sni_[255] = {};         // the SNI last_ was made with
    std::uint8_t last_sni_len_ = 0;
    TlsStats stats_;
};

struct TlsTotals;   // proxy/stats_source.hh

// Every TLS context of one worker for one configuration generation.
class TlsWorker {
public:
    static core::Result<std::unique_ptr<TlsWorker>> build(std::shared_ptr<const TlsConfig> cfg, TlsShared& shared);

    // The context of Snapshot::proxies[proxy].binds[bind] / .servers[server]; null if that line
    // has no ssl. Linear in the number of TLS lines: look it up once per listener or server
    // when a configuration is adopted, not per connection.
    TlsContext* bind(int proxy, int bind) noexcept;
    TlsClientContext* server(int proxy, int server) noexcept;
    const TlsConfig& config() const noexcept { return *cfg_; }
    // Adds this worker's handshake counters and open connections (relaxed reads: any thread,
    // e.g. the stats socket's).
    void add_totals(TlsTotals& t) const noexcept;

private:
    std::shared_ptr<const TlsConfig> cfg_;
    std::vector<std::unique_ptr<TlsContext>> binds_;             // parallel to cfg_->binds
    std::vector<std::unique_ptr<TlsClientContext>> servers_;     // parallel to cfg_->servers
};

// The settings both sides share (versions, options, ciphers, groups, modes). Exposed for the
// probe in load_tls_config() and for the benchmark. Returns an error text naming the option.
bool configure_tls_ctx(SSL_CTX* c, const TlsProtocolOptions& p, bool server, std::string& err);

}  // namespace skjold::proxy
