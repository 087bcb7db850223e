#pragma once
// TLS configuration resolved from a Snapshot: every certificate parsed once (HAProxy's PEM
// convention), the SNI index of each `bind ... ssl`, the options with the ssl-default-*
// globals applied, and the CA certificates of each `server ... ssl`.
// Built on the control thread (start, `skjold -c`, reload), off the data path; immutable
// afterwards. Workers never read files: their SSL_CTXs (tls_context.hh) take references on
// the X509/EVP_PKEY objects held here.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/diagnostic.hh"
#include "conf/snapshot_types.hh"
#include "proxy/tls_ptr.hh"

namespace skjold::proxy {

// Defaults where neither the bind nor ssl-default-bind-* says otherwise: Mozilla's
// "intermediate" profile (ssl-config.mozilla.org, guidelines 5.7) with the groups of issue 6.
inline constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kDefaultCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* kDefaultCurves = "X25519:P-256";

enum class KeyKind : std::uint8_t { rsa, ecdsa, other };

// One PEM file: leaf certificate, the chain after it, the private key (in the file or in
// FILE.key). Owns one reference on each object.
struct TlsCert {
    std::string file;
    X509Ptr leaf;
    X509ChainPtr chain;                 // may be empty, never null
    PkeyPtr key;
    KeyKind kind = KeyKind::other;
    std::vector<std::string> names;     // CN and SAN DNS names, lower case, as written ("*.a.org")
};

// Options shared by the two sides, resolved (bind/server word, else ssl-default-*, else default).
struct TlsProtocolOptions {
    int min_version = 0, max_version = 0;      // TLS1_2_VERSION ...
    std::uint64_t options = 0;                 // SSL_OP_* on top of skjold's fixed set (no-tlsv1x)
    bool prefer_client_ciphers = false;        // server side: else the server's order wins
    std::string ciphers, ciphersuites, curves;
    std::vector<std::uint8_t> alpn;            // wire format (length-prefixed names); empty: none
};

// One `bind ... ssl` line.
struct TlsBindConfig {
    int proxy = -1, bind = -1;                 // Snapshot::proxies[proxy].binds[bind]
    conf::SourceLoc loc;
    std::string label;                         // "frontend 'fe' bind :443" for messages
    TlsProtocolOptions proto;
    bool tickets = true;                       // false: no-tls-tickets
    std::vector<int> certs;                    // TlsConfig::certs indices, load order; [0] = default
    // A group is what one SNI name selects: the first certificate of each key kind carrying
    // that name, so that OpenSSL picks ECDSA or RSA by what the client offers. groups[0] is
    // the default group (the first certificate's).
    std::vector<std::vector<int>> groups;
    std::vector<std::pair<std::string, int>> exact;      // sorted: name -> group
    std::vector<std::pair<std::string, int>> wildcard;   // sorted: ".example.org" -> group
    std::uint8_t sid_ctx[32] = {};             // session id context: resumption stays on this bind

    // Data path (client-hello callback): the group for an SNI name, 0 for none or unknown.
    // Case-insensitive; exact names win over wildcards; "*.a.org" matches "b.a.org" only.
    int group_for(std::string_view sni) const noexcept;
};

// One `server ... ssl` (or `check-ssl`) line: the client side.
struct TlsServerConfig {
    int proxy = -1, server = -1;
    conf::SourceLoc loc;
    std::string label;
    TlsProtocolOptions proto;
    bool tickets = true;
    bool verify = true;
    std::vector<X509Ptr> ca;                   // from ca-file
    std::string sni;                           // the `sni` expression as written
    std::string sni_literal;                   // NAME of `sni str(NAME)`; empty: evaluate `sni`
};

struct TlsConfig {
    std::vector<std::unique_ptr<TlsCert>> certs;   // each file parsed once, shared by binds
    std::vector<TlsBindConfig> binds;
    std::vector<TlsServerConfig> servers;
    std::size_t cache_entries = 20000;             // tune.ssl.cachesize
    std::int64_t lifetime_ms = 300000;             // tune.ssl.lifetime

    const TlsBindConfig* find_bind(int proxy, int bind) const noexcept;
    const TlsServerConfig* find_server(int proxy, int server) const noexcept;
};

struct TlsLoadResult {
    std::shared_ptr<const TlsConfig> config;   // null when errors is not empty
    std::vector<conf::Diagnostic> errors;      // FILE:LINE of the bind/server line, naming the PEM
};

// Reads every crt and ca-file of the Snapshot and checks each bind's options by building a
// probe SSL_CTX. Control plane; call it for `skjold -c`, at start and on reload (a failure
// keeps the running configuration). An empty config (no TLS) is valid and cheap.
TlsLoadResult load_tls_config(const conf::Snapshot& snap);

// One PEM file with HAProxy's convention. Errors name the file; exposed for tests.
struct PemError { std::string message; };
std::unique_ptr<TlsCert> load_pem_file(const std::string& path, PemError& err);

// The files a `crt DIR` loads: regular files in byte order, skipping names that start with a
// dot or end in .key, .issuer, .ocsp or .sctl (HAProxy's reserved extensions).
std::vector<std::string> crt_dir_files(const std::string& dir, PemError& err);

// "h2,http/1.1" -> wire format. Empty input: empty output.
std::vector<std::uint8_t> alpn_wire(std::string_view list);

}  // namespace skjold::proxy
