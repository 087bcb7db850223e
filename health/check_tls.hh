#pragma once
// TLS health checks: `check-ssl`, and `check` on a server with `ssl` unless `port` or `addr`
// sends the checks elsewhere (HAProxy's rule). A check then passes the TLS handshake first
// (L6OK without option httpchk, L6TOUT / L6RSP when it does not complete), and an HTTP check
// runs over the TLS connection.
//
// Owner: built with the Checker (control thread; ca-file is read here), then used by the
// checker thread only: one client SSL_CTX per checked server, keeping the server's last
// session so that a check every `inter` resumes instead of running a full handshake.
// The check socket is non-blocking and OpenSSL reads and writes it directly (a socket BIO):
// SSL_* calls answer WANT_READ / WANT_WRITE instead of blocking, and the checker waits in
// epoll as for a plain check. (health/ sits left of proxy/ in the include order: this does not
// use proxy/tls_*.)

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "conf/snapshot_types.hh"
#include "core/result.hh"

namespace skjold::health {

// True when the checks of `srv` go over TLS.
bool check_uses_tls(const conf::Server& srv) noexcept;

class CheckTls {
public:
    static core::Result<std::unique_ptr<CheckTls>> create(const conf::Server& srv, const conf::Global& g);
    ~CheckTls();
    CheckTls(const CheckTls&) = delete;
    CheckTls& operator=(const CheckTls&) = delete;

    // A client SSL on the connected socket `fd` (SNI, host check, last session set); null when
    // out of memory.
    SSL* start(int fd) noexcept;
    // After a completed handshake: keep its session for the next check.
    void keep_session(SSL* ssl) noexcept;
    // After a failed one: do not offer the kept session again.
    void forget_session() noexcept;

private:
    CheckTls() = default;
    SSL_CTX* ctx_ = nullptr;
    SSL_SESSION* last_ = nullptr;
    std::string sni_;       // `sni str(NAME)`'s NAME; empty: no SNI
    bool verify_ = true;
};

// "Layer6 invalid response" text for a failed handshake: OpenSSL's reason, or the certificate
// verification error. Checker thread (uses OpenSSL's per-thread error queue, then clears it).
std::string check_tls_error(SSL* ssl, int ssl_error);

}  // namespace skjold::health
