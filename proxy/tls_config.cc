#include "proxy/tls_config.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <map>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy/tls_context.hh"

namespace skjold::proxy {

namespace {

bool last_error_is_no_start_line() {
    unsigned long e = ERR_peek_last_error();
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// Encrypted keys are refused (skjold starts unattended, as HAProxy does without a passphrase).
int no_passphrase(char*, int, int, void*) { return -1; }

bool read_file(const std::string& path, std::string& out, PemError& err) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err.message = "cannot open '" + path + "': " + std::strerror(errno != 0 ? errno : ENOENT);
        return false;
    }
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
        err.message = "cannot read '" + path + "'";
        return false;
    }
    return true;
}

BioPtr mem_bio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

PkeyPtr read_key(const std::string& pem) {
    BioPtr b = mem_bio(pem);
    return PkeyPtr(b ? PEM_read_bio_PrivateKey(b.get(), nullptr, no_passphrase, nullptr) : nullptr);
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

// CN and SAN DNS names, as HAProxy indexes them for SNI.
std::vector<std::string> cert_names(X509* x) {
    std::vector<std::string> names;
    auto add = [&](const unsigned char* p, int len) {
        if (p == nullptr || len <= 0 || std::memchr(p, 0, static_cast<std::size_t>(len)) != nullptr) return;
        std::string n = lower({reinterpret_cast<const char*>(p), static_cast<std::size_t>(len)});
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
    };
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (sans != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
            if (g->type == GEN_DNS) add(ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
        }
        GENERAL_NAMES_free(sans);
    }
    X509_NAME* subj = X509_get_subject_name(x);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
        unsigned char* utf8 = nullptr;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
        if (len > 0) add(utf8, len);
        OPENSSL_free(utf8);
    }
    ERR_clear_error();
    return names;
}

int version_of(std::string_view v) {
    if (v == "SSLv3") return SSL3_VERSION;
    if (v == "TLSv1.0") return TLS1_VERSION;
    if (v == "TLSv1.1") return TLS1_1_VERSION;
    if (v == "TLSv1.2") return TLS1_2_VERSION;
    if (v == "TLSv1.3") return TLS1_3_VERSION;
    return 0;
}

// The bind/server word, else the ssl-default-* global, else skjold's default.
std::string pick(const std::string& own, const std::string& global, const char* dflt) {
    return !own.empty() ? own : !global.empty() ? global : std::string(dflt);
}

// no-sslv3 ... no-tlsv13 and prefer-client-ciphers from ssl-default-*-options.
void apply_raw_options(const std::vector<std::string>& raw, TlsProtocolOptions& p) {
    for (const auto& w : raw) {
        if (w == "no-sslv3") p.options |= SSL_OP_NO_SSLv3;
        else if (w == "no-tlsv10") p.options |= SSL_OP_NO_TLSv1;
        else if (w == "no-tlsv11") p.options |= SSL_OP_NO_TLSv1_1;
        else if (w == "no-tlsv12") p.options |= SSL_OP_NO_TLSv1_2;
        else if (w == "no-tlsv13") p.options |= SSL_OP_NO_TLSv1_3;
        else if (w == "prefer-client-ciphers") p.prefer_client_ciphers = true;
    }
}

// "" when at least one version of [min, max] is not switched off by a no-* option.
std::string check_versions(const TlsProtocolOptions& p) {
    if (p.min_version > p.max_version) return "ssl-min-ver is above ssl-max-ver";
    struct V { int v; std::uint64_t off; };
    const V all[] = {{SSL3_VERSION, SSL_OP_NO_SSLv3}, {TLS1_VERSION, SSL_OP_NO_TLSv1}, {TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
                     {TLS1_2_VERSION, SSL_OP_NO_TLSv1_2}, {TLS1_3_VERSION, SSL_OP_NO_TLSv1_3}};
    for (const auto& v : all)
        if (v.v >= p.min_version && v.v <= p.max_version && (p.options & v.off) == 0) return "";
    return "every TLS version between ssl-min-ver and ssl-max-ver is disabled (no-tlsv1x)";
}

TlsProtocolOptions resolve(const conf::SslOptions& own, const conf::SslOptions& global, std::string_view alpn) {
    TlsProtocolOptions p;
    p.min_version = version_of(pick(own.min_ver, global.min_ver, "TLSv1.2"));
    p.max_version = version_of(pick(own.max_ver, global.max_ver, "TLSv1.3"));
    p.ciphers = pick(own.ciphers, global.ciphers, kDefaultCiphers);
    p.ciphersuites = pick(own.ciphersuites, global.ciphersuites, kDefaultCiphersuites);
    p.curves = pick(own.curves, global.curves, kDefaultCurves);
    apply_raw_options(global.raw_options, p);
    apply_raw_options(own.raw_options, p);
    p.alpn = alpn_wire(alpn);
    return p;
}

// Group ids, the default group, and the sorted SNI index of one bind.
void build_index(TlsBindConfig& b, const std::vector<std::unique_ptr<TlsCert>>& certs) {
    std::map<std::string, std::vector<int>> by_name;   // name as written -> certificates, load order
    for (int ci : b.certs)
        for (const auto& n : certs[static_cast<std::size_t>(ci)]->names) {
            auto& v = by_name[n];
            if (std::find(v.begin(), v.end(), ci) == v.end()) v.push_back(ci);
        }
    std::map<std::vector<int>, int> ids;
    auto group_of = [&](const std::vector<int>& list) {
        std::vector<int> g;
        bool seen[3] = {false, false, false};
        for (int ci : list) {
            auto k = static_cast<std::size_t>(certs[static_cast<std::size_t>(ci)]->kind);
            if (!seen[k]) g.push_back(ci);
            seen[k] = true;
        }
        auto [it, fresh] = ids.emplace(g, static_cast<int>(b.groups.size()));
        if (fresh) b.groups.push_back(g);
        return it->second;
    };
    const TlsCert& first = *certs[static_cast<std::size_t>(b.certs[0])];
    group_of(first.names.empty() ? std::vector<int>{b.certs[0]} : by_name[first.names[0]]);   // group 0
    for (const auto& [name, list] : by_name) {
        int g = group_of(list);
        if (name.size() > 2 && name.starts_with("*.")) b.wildcard.emplace_back(name.substr(1), g);
        else b.exact.emplace_back(name, g);
    }
    std::sort(b.exact.begin(), b.exact.end());
    std::sort(b.wildcard.begin(), b.wildcard.end());
}

// A 32-byte session id context per bind: a session resumes only on the bind that made it.
void make_sid_ctx(TlsBindConfig& b, const std::string& proxy) {
    std::string id = "skjold:" + proxy + ":" + std::to_string(b.bind);
    unsigned int len = 0;
    EVP_Digest(id.data(), id.size(), b.sid_ctx, &len, EVP_sha256(), nullptr);
}

// "str(NAME)" -> NAME; anything else is a sample expression the session evaluates.
std::string sni_literal(const std::string& expr) {
    if (expr.size() > 5 && expr.starts_with("str(") && expr.back() == ')') return expr.substr(4, expr.size() - 5);
    return {};
}

}  // namespace

std::vector<std::uint8_t> alpn_wire(std::string_view list) {
    std::vector<std::uint8_t> out;
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view one = list.substr(0, comma);
        if (!one.empty() && one.size() <= 255) {
            out.push_back(static_cast<std::uint8_t>(one.size()));
            out.insert(out.end(), one.begin(), one.end());
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

int TlsBindConfig::group_for(std::string_view sni) const noexcept {
    char buf[256];
    if (sni.empty() || sni.size() >= sizeof(buf)) return 0;
    for (std::size_t i = 0; i < sni.size(); ++i) {
        char c = sni[i];
        buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    std::string_view name(buf, sni.size());
    auto find = [](const std::vector<std::pair<std::string, int>>& v, std::string_view key) {
        auto it = std::lower_bound(v.begin(), v.end(), key, [](const auto& e, std::string_view k) { return e.first < k; });
        return it != v.end() && it->first == key ? it->second : -1;
    };
    if (int g = find(exact, name); g >= 0) return g;
    std::size_t dot = name.find('.');
    if (dot != 0 && dot != std::string_view::npos) {
        if (int g = find(wildcard, name.substr(dot)); g >= 0) return g;
    }
    return 0;
}

const TlsBindConfig* TlsConfig::find_bind(int proxy, int bind) const noexcept {
    for (const auto& b : binds)
        if (b.proxy == proxy && b.bind == bind) return &b;
    return nullptr;
}

const TlsServerConfig* TlsConfig::find_server(int proxy, int server) const noexcept {
    for (const auto& s : servers)
        if (s.proxy == proxy && s.server == server) return &s;
    return nullptr;
}

std::unique_ptr<TlsCert> load_pem_file(const std::string& path, PemError& err) {
    std::string pem;
    if (!read_file(path, pem, err)) return nullptr;
    ERR_clear_error();
    auto c = std::make_unique<TlsCert>();
    c->file = path;
    BioPtr b = mem_bio(pem);
    if (!b) {
        err.message = "out of memory";
        return nullptr;
    }
    // The first certificate is the leaf; every following one is its chain.
    c->leaf.reset(PEM_read_bio_X509_AUX(b.get(), nullptr, no_passphrase, nullptr));
    if (!c->leaf) {
        err.message = last_error_is_no_start_line() ? "no certificate in '" + path + "'"
                                                    : "cannot parse the certificate in '" + path + "': " + ossl_reason();
        ERR_clear_error();
        return nullptr;
    }
    c->chain.reset(sk_X509_new_null());
    for (int n = 2;; ++n) {
        X509Ptr x(PEM_read_bio_X509(b.get(), nullptr, no_passphrase, nullptr));
        if (!x) {
            if (last_error_is_no_start_line()) break;
            err.message = "cannot parse certificate #" + std::to_string(n) + " in '" + path + "': " + ossl_reason();
            return nullptr;
        }
        if (!c->chain || sk_X509_push(c->chain.get(), x.get()) == 0) {
            err.message = "out of memory";
            return nullptr;
        }
        x.release();
    }
    ERR_clear_error();
    // The key: in the same file, else in FILE.key (HAProxy's rule).
    c->key = read_key(pem);
    if (!c->key) {
        bool absent = last_error_is_no_start_line() || pem.find("PRIVATE KEY-----") == std::string::npos;
        if (!absent) {
            err.message = "cannot read the private key in '" + path + "' (encrypted keys are not supported): " +
                          ossl_reason();
            return nullptr;
        }
        ERR_clear_error();
        std::string keypem;
        PemError ignored;
        if (read_file(path + ".key", keypem, ignored)) c->key = read_key(keypem);
        if (!c->key) {
            err.message = "no private key in '" + path + "' nor in '" + path + ".key'";
            ERR_clear_error();
            return nullptr;
        }
    }
    if (X509_check_private_key(c->leaf.get(), c->key.get()) != 1) {
        err.message = "the private key in '" + path + "' does not match its certificate";
        ERR_clear_error();
        return nullptr;
    }
    if (EVP_PKEY_is_a(c->key.get(), "RSA") || EVP_PKEY_is_a(c->key.get(), "RSA-PSS")) c->kind = KeyKind::rsa;
    else if (EVP_PKEY_is_a(c->key.get(), "EC")) c->kind = KeyKind::ecdsa;
    else c->kind = KeyKind::other;
    c->names = cert_names(c->leaf.get());
    return c;
}

std::vector<std::string> crt_dir_files(const std::string& dir, PemError& err) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
        err.message = "cannot open directory '" + dir + "': " + std::strerror(errno);
        return out;
    }
    while (dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n.empty() || n[0] == '.') continue;
        if (n.ends_with(".key") || n.ends_with(".issuer") || n.ends_with(".ocsp") || n.ends_with(".sctl")) continue;
        std::string path = dir + (dir.ends_with('/') ? "" : "/") + std::string(n);
        struct stat st{};
        if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        out.push_back(std::move(path));
    }
    closedir(d);
    std::sort(out.begin(), out.end());   // alphabetical (byte order), as HAProxy's scandir+alphasort
    return out;
}

TlsLoadResult load_tls_config(const conf::Snapshot& snap) {
    TlsLoadResult r;
    auto cfg = std::make_shared<TlsConfig>();
    cfg->cache_entries = static_cast<std::size_t>(std::max(0, snap.global.ssl_cachesize));
    cfg->lifetime_ms = snap.global.ssl_lifetime;
    std::map<std::string, int> loaded;   // path -> certs index: a file is parsed once
    auto error = [&](const conf::SourceLoc& loc, std::string msg) {
        r.errors.push_back(conf::Diagnostic{loc.file, loc.line, std::move(msg)});
    };
    auto load_one = [&](const std::string& path, TlsBindConfig& b) {
        if (auto it = loaded.find(path); it != loaded.end()) {
            b.certs.push_back(it->second);
            return;
        }
        PemError pe;
        auto c = load_pem_file(path, pe);
        if (!c) {
            error(b.loc, b.label + ": crt: " + pe.message);
            return;
        }
        int idx = static_cast<int>(cfg->certs.size());
        cfg->certs.push_back(std::move(c));
        loaded.emplace(path, idx);
        b.certs.push_back(idx);
    };

    for (std::size_t pi = 0; pi < snap.proxies.size(); ++pi) {
        const conf::Proxy& px = snap.proxies[pi];
        for (std::size_t bi = 0; bi < px.binds.size(); ++bi) {
            const conf::Bind& bind = px.binds[bi];
            if (!bind.ssl) continue;
            TlsBindConfig b;
            b.proxy = static_cast<int>(pi);
            b.bind = static_cast<int>(bi);
            b.loc = bind.loc;
            b.label = "bind '" + (bind.addrs.empty() ? std::string("?") : bind.addrs[0].to_string()) + "' of '" +
                      px.name + "'";
            b.proto = resolve(bind.ssl_opts, snap.global.ssl_bind, bind.alpn);
            b.tickets = !bind.ssl_opts.no_tls_tickets && !snap.global.ssl_bind.no_tls_tickets;
            if (auto v = check_versions(b.proto); !v.empty()) error(b.loc, b.label + ": " + v);
            std::size_t before = r.errors.size();
            for (const auto& crt : bind.crts) {
                struct stat st{};
                if (stat(crt.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
                    PemError pe;
                    auto files = crt_dir_files(crt, pe);
                    if (!pe.message.empty()) error(b.loc, b.label + ": crt: " + pe.message);
                    for (const auto& f : files) load_one(f, b);
                } else {
                    load_one(crt, b);
                }
            }
            if (r.errors.size() != before) continue;
            if (b.certs.empty()) {
                error(b.loc, b.label + ": no certificate loaded (empty crt directory?)");
                continue;
            }
            build_index(b, cfg->certs);
            make_sid_ctx(b, px.name);
            cfg->binds.push_back(std::move(b));
        }
        for (std::size_t si = 0; si < px.servers.size(); ++si) {
            const conf::Server& sv = px.servers[si];
            if (!sv.opt.ssl && !sv.opt.check_ssl) continue;   // check-ssl alone: TLS health checks
            TlsServerConfig s;
            s.proxy = static_cast<int>(pi);
            s.server = static_cast<int>(si);
            s.loc = sv.loc;
            s.label = "server '" + px.name + "/" + sv.name + "'";
            s.proto = resolve(conf::SslOptions{}, snap.global.ssl_server, sv.opt.alpn);
            s.tickets = !snap.global.ssl_server.no_tls_tickets;
            s.verify = sv.opt.verify_required;
            s.sni = sv.opt.sni;
            s.sni_literal = sni_literal(sv.opt.sni);
            if (auto v = check_versions(s.proto); !v.empty()) error(s.loc, s.label + ": " + v);
            if (s.verify) {
                std::string pem;
                PemError pe;
                if (!read_file(sv.opt.ca_file, pem, pe)) {
                    error(s.loc, s.label + ": ca-file: " + pe.message);
                    continue;
                }
                BioPtr b = mem_bio(pem);
                while (b) {
                    X509Ptr x(PEM_read_bio_X509_AUX(b.get(), nullptr, no_passphrase, nullptr));
                    if (!x) break;
                    s.ca.push_back(std::move(x));
                }
                if (!last_error_is_no_start_line() && ERR_peek_last_error() != 0) {
                    error(s.loc, s.label + ": ca-file '" + sv.opt.ca_file + "': cannot parse: " + ossl_reason());
                    continue;
                }
                ERR_clear_error();
                if (s.ca.empty()) {
                    error(s.loc, s.label + ": ca-file '" + sv.opt.ca_file + "': no certificate in it");
                    continue;
                }
            }
            cfg->servers.push_back(std::move(s));
        }
    }
    if (!r.errors.empty()) return r;

    // Probe: the options and certificates go through OpenSSL exactly as a worker's would, so
    // `skjold -c` reports a cipher list or curve OpenSSL refuses.
    for (const auto& b : cfg->binds) {
        auto probe = TlsContext::create(b, *cfg, nullptr);
        if (!probe) error(b.loc, b.label + ": " + probe.error().detail);
    }
    for (const auto& s : cfg->servers) {
        auto probe = TlsClientContext::create(s);
        if (!probe) error(s.loc, s.label + ": " + probe.error().detail);
    }
    if (r.errors.empty()) r.config = std::move(cfg);
    return r;
}

}  // namespace skjold::proxy
