#include "tls_client.hh"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace skjold::test {

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Single-quoted for sh -c.
std::string quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

}  // namespace

TestCert make_cert(const std::filesystem::path& dir, const std::filesystem::path& pem_path, std::string_view name,
                   KeyType type) {
    TestCert c;
    c.cert = dir / (std::string(name) + ".crt");
    auto key = dir / (std::string(name) + ".key");
    std::vector<std::string> argv{"openssl", "req", "-x509", "-nodes", "-days", "30", "-subj",
                                  "/CN=" + std::string(name), "-addext", "subjectAltName=DNS:" + std::string(name),
                                  "-keyout", key.string(), "-out", c.cert.string(), "-newkey"};
    if (type == KeyType::ecdsa_p256) {
        argv.insert(argv.end(), {"ec", "-pkeyopt", "ec_paramgen_curve:P-256"});
    } else {
        argv.push_back("rsa:2048");
    }
    auto r = run_process(argv, 30s);
    INFO("openssl req: " << r.err);
    REQUIRE(r.exit_code == 0);
    std::ofstream out(pem_path, std::ios::binary);
    out << slurp(c.cert) << slurp(key);
    REQUIRE(out.good());
    c.pem = pem_path;
    return c;
}

RunResult s_client(const Address& at, const std::vector<std::string>& args, std::string_view input,
                   std::chrono::milliseconds timeout) {
    std::string cmd = "printf '%s' " + quote(input) + " | openssl s_client -ign_eof -connect " + at.to_string();
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " 2>&1";
    return run_process({"sh", "-c", cmd}, timeout);
}

std::string field_after(std::string_view out, std::string_view key) {
    auto p = out.find(key);
    if (p == std::string_view::npos) return {};
    p += key.size();
    while (p < out.size() && out[p] == ' ') ++p;
    auto e = out.find_first_of("\r\n", p);
    return std::string(out.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
}

namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// No session kept or offered: every connection is a full handshake.
CtxPtr full_handshake_ctx() {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (ctx) {
        SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    }
    return ctx;
}

}  // namespace

TlsConnection TlsConnection::open(const Address& at, std::string_view sni, std::string_view prefix) {
    auto ctx = full_handshake_ctx();
    return ctx ? open_on(ctx.get(), at, sni, prefix) : TlsConnection{};
}

TlsConnection TlsConnection::open_on(SSL_CTX* ctx, const Address& at, std::string_view sni, std::string_view prefix) {
    TlsConnection c;
    c.fd_ = ::socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd_ < 0) return c;
    timeval tv{5, 0};
    setsockopt(c.fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c.fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(c.fd_, at.sa(), at.length) != 0 ||
        (!prefix.empty() && ::send(c.fd_, prefix.data(), prefix.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(prefix.size()))) {
        c.close();
        return c;
    }
    const std::string name(sni);
    SSL* s = SSL_new(ctx);
    SSL_set_fd(s, c.fd_);
    SSL_set_tlsext_host_name(s, name.c_str());
    if (SSL_connect(s) == 1) c.ssl_ = s;
    else SSL_free(s);
    ERR_clear_error();
    if (c.ssl_ == nullptr) c.close();
    return c;
}

std::string TlsConnection::exchange(std::string_view request) {
    std::string reply;
    if (ssl_ == nullptr) return reply;
    SSL_write(ssl_, request.data(), static_cast<int>(request.size()));
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
    ERR_clear_error();
    return reply;
}

void TlsConnection::close() {
    if (ssl_ != nullptr) SSL_shutdown(ssl_);
    abort();
}

void TlsConnection::abort() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

namespace {

std::optional<std::string> exchange_on(SSL_CTX* ctx, const Address& at, std::string_view sni, std::string_view request,
                                       std::string_view prefix) {
    auto c = TlsConnection::open_on(ctx, at, sni, prefix);
    if (!c.established()) return std::nullopt;
    std::string reply = request.empty() ? std::string() : c.exchange(request);
    c.close();
    return reply;
}

}  // namespace

std::optional<std::string> tls_exchange(const Address& at, std::string_view sni, std::string_view request,
                                        std::string_view prefix) {
    auto ctx = full_handshake_ctx();
    return ctx ? exchange_on(ctx.get(), at, sni, request, prefix) : std::nullopt;
}

int handshake_loop(const Address& at, std::string_view sni, int count, std::string_view request) {
    auto ctx = full_handshake_ctx();
    int ok = 0;
    for (int i = 0; ctx && i < count; ++i) ok += exchange_on(ctx.get(), at, sni, request, {}).has_value();
    return ok;
}

std::optional<OneFlight> finished_with_request(const Address& at, std::string_view sni, std::string_view request) {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) return std::nullopt;
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    int fd = ::socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, at.sa(), at.length) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    SSL* s = SSL_new(ctx.get());
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(s, in, out);
    const std::string name(sni);
    SSL_set_tlsext_host_name(s, name.c_str());
    SSL_set_connect_state(s);
    auto flush = [&] {   // everything the client wrote, in one send()
        std::string w;
        char buf[4096];
        int n;
        while ((n = BIO_read(out, buf, sizeof buf)) > 0) w.append(buf, static_cast<std::size_t>(n));
        return w.empty() || ::send(fd, w.data(), w.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(w.size());
    };
    auto receive = [&] {   // false on EOF, error or timeout
        char buf[16384];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        BIO_write(in, buf, static_cast<int>(n));
        return true;
    };
    std::optional<OneFlight> r;
    bool ok = true;
    int rc;
    while (ok && (rc = SSL_do_handshake(s)) != 1)
        ok = SSL_get_error(s, rc) == SSL_ERROR_WANT_READ && flush() && receive();
    // The Finished is in `out`; the request joins it before anything is sent.
    if (ok && SSL_write(s, request.data(), static_cast<int>(request.size())) == static_cast<int>(request.size()) &&
        flush()) {
        r.emplace();
        char buf[4096];
        for (;;) {
            int n = SSL_read(s, buf, sizeof buf);
            if (n > 0) {
                r->reply.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (SSL_get_error(s, n) != SSL_ERROR_WANT_READ || !receive()) break;
        }
        SSL_SESSION* sess = SSL_get1_session(s);
        r->ticket = sess != nullptr && SSL_SESSION_has_ticket(sess) == 1;
        SSL_SESSION_free(sess);
    }
    SSL_free(s);
    ERR_clear_error();
    ::close(fd);
    return r;
}

long rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace skjold::test
