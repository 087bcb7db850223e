// HTTPS load client for bench/tls.sh (not a test): a new TCP connection and TLS handshake per
// request, with or without session resumption, so full and resumed handshakes are measured
// apart. wrk cannot do either on purpose: it keeps each connection's SSL object and SSL_clear()s
// it between connections, which offers the previous connection's last ticket, so its
// "Connection: close" figure is mostly resumed handshakes against a server that takes tickets.
//
//   tls_load PORT SECONDS CONNECTIONS full|resume|clear [MAX_REQUESTS]
//     full    a fresh SSL object and no session: every handshake is a full one
//     resume  a fresh SSL object offered the session (the last ticket) of the previous
//             connection of the same slot, as a browser or curl's session cache does
//     clear   wrk's way: one SSL object per slot, SSL_shutdown + SSL_clear between connections
//
// Each of CONNECTIONS slots runs connect, handshake, "GET / HTTP/1.1" with Connection: close,
// reads the response until its end (Content-Length) or EOF, closes (no close_notify, as most
// HTTP clients), and starts again. Bounded by SECONDS and MAX_REQUESTS (default 10,000,000).
// Prints wrk-style lines the script parses: "Requests/sec: N", "Reused: N of M", "Errors: N".
// 127.0.0.1 only. TLS 1.2 and 1.3 offered; no certificate verification (a benchmark).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum class Mode { full, resume, clear };

constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n";

struct Slot {
    int fd = -1;
    SSL* ssl = nullptr;
    SSL_SESSION* sess = nullptr;   // resume: offered by the next connection of this slot
    enum class St { handshake, write, read } st = St::handshake;
    std::size_t written = 0;
    std::string resp;
};

struct Load {
    Mode mode = Mode::full;
    const char* sni = "bench.test";
    sockaddr_in addr{};
    SSL_CTX* ctx = nullptr;
    int ep = -1;
    std::uint64_t done = 0, errors = 0, reused = 0, started = 0, max_requests = 10'000'000;
    bool stopping = false;

    void fail(Slot& s) { finish(s, false); }

    // A response is complete at its Content-Length (all three proxies send one here).
    static bool complete(const std::string& r) {
        auto h = r.find("\r\n\r\n");
        if (h == std::string::npos) return false;
        auto cl = r.find("Content-Length:");
        if (cl == std::string::npos || cl > h) cl = r.find("content-length:");
        if (cl == std::string::npos || cl > h) return false;   // read to EOF
        return r.size() >= h + 4 + std::strtoul(r.c_str() + cl + 15, nullptr, 10);
    }

    void finish(Slot& s, bool ok) {
        if (!ok) ++errors;   // a failed connection or handshake, or a status other than 200
        if (ok) {
            ++done;
            if (SSL_session_reused(s.ssl) == 1) ++reused;
            if (mode == Mode::resume) {
                if (s.sess != nullptr) SSL_SESSION_free(s.sess);
                s.sess = SSL_get1_session(s.ssl);
            }
        }
        if (mode == Mode::clear) {
            SSL_shutdown(s.ssl);   // wrk: close_notify, then SSL_clear keeps the session
            SSL_clear(s.ssl);
        } else {
            // A session whose SSL is freed without a shutdown is marked not resumable
            // (ssl_clear_bad_session): the connection ended as this client wanted it to.
            SSL_set_shutdown(s.ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
            SSL_free(s.ssl);
            s.ssl = nullptr;
        }
        if (s.fd >= 0) ::close(s.fd);   // deregisters it from epoll
        s.fd = -1;
        if (!stopping && started < max_requests) open(s);
    }

    void open(Slot& s) {
        ++started;
        s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (s.fd < 0 || (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 && errno != EINPROGRESS)) {
            ++errors;
            if (s.fd >= 0) ::close(s.fd);
            s.fd = -1;
            return;
        }
        if (s.ssl == nullptr) s.ssl = SSL_new(ctx);
        SSL_set_fd(s.ssl, s.fd);
        SSL_set_connect_state(s.ssl);
        SSL_set_tlsext_host_name(s.ssl, sni);
        if (mode == Mode::resume && s.sess != nullptr) SSL_set_session(s.ssl, s.sess);
        s.st = Slot::St::handshake;
        s.written = 0;
        s.resp.clear();
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = &s;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    }

    // Runs the slot's state machine as far as the socket allows.
    void drive(Slot& s) {
        for (;;) {
            if (s.fd < 0) return;
            int rc = 0;
            switch (s.st) {
            case Slot::St::handshake:
                rc = SSL_do_handshake(s.ssl);
                if (rc == 1) {
                    s.st = Slot::St::write;
                    continue;
                }
                break;
            case Slot::St::write:
                rc = SSL_write(s.ssl, kRequest.data() + s.written, static_cast<int>(kRequest.size() - s.written));
                if (rc > 0) {
                    s.written += static_cast<std::size_t>(rc);
                    if (s.written == kRequest.size()) s.st = Slot::St::read;
                    continue;
                }
                break;
            case Slot::St::read: {
                char buf[4096];
                rc = SSL_read(s.ssl, buf, sizeof(buf));
                if (rc > 0) {
                    s.resp.append(buf, static_cast<std::size_t>(rc));
                    if (complete(s.resp)) return finish(s, s.resp.compare(0, 12, "HTTP/1.1 200") == 0);
                    continue;
                }
                int e = SSL_get_error(s.ssl, rc);
                if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !s.resp.empty()) ||
                    (e == SSL_ERROR_SSL && !s.resp.empty())) {
                    ERR_clear_error();
                    return finish(s, s.resp.compare(0, 12, "HTTP/1.1 200") == 0);
                }
                break;
            }
            }
            int e = SSL_get_error(s.ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            ERR_clear_error();
            return fail(s);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s PORT SECONDS CONNECTIONS full|resume|clear [MAX_REQUESTS]\n", argv[0]);
        return 2;
    }
    Load L;
    std::string_view m = argv[4];
    L.mode = m == "resume" ? Mode::resume : m == "clear" ? Mode::clear : Mode::full;
    if (m != "full" && m != "resume" && m != "clear") {
        std::fprintf(stderr, "tls_load: mode must be full, resume or clear\n");
        return 2;
    }
    if (const char* e = std::getenv("TLS_LOAD_SNI")) L.sni = e;
    double seconds = std::atof(argv[2]);
    int nconn = std::atoi(argv[3]);
    if (argc > 5) L.max_requests = std::strtoull(argv[5], nullptr, 10);
    if (seconds <= 0 || seconds > 600 || nconn <= 0 || nconn > 4096) {
        std::fprintf(stderr, "tls_load: SECONDS in (0, 600], CONNECTIONS in [1, 4096]\n");
        return 2;
    }
    L.addr.sin_family = AF_INET;
    L.addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    L.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    L.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(L.ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(L.ctx, SSL_VERIFY_NONE, nullptr);
    // The client keeps its sessions itself (Slot::sess); OpenSSL's client cache stays unused.
    SSL_CTX_set_session_cache_mode(L.ctx, SSL_SESS_CACHE_OFF);
    L.ep = ::epoll_create1(EPOLL_CLOEXEC);

    std::vector<Slot> slots(static_cast<std::size_t>(nconn));
    auto t0 = std::chrono::steady_clock::now();
    auto deadline = t0 + std::chrono::duration<double>(seconds);
    for (auto& s : slots) L.open(s);
    std::vector<epoll_event> evs(256);
    while (std::chrono::steady_clock::now() < deadline) {
        int n = ::epoll_wait(L.ep, evs.data(), static_cast<int>(evs.size()), 100);
        for (int i = 0; i < n; ++i) L.drive(*static_cast<Slot*>(evs[static_cast<std::size_t>(i)].data.ptr));
        bool any = false;
        for (auto& s : slots) any = any || s.fd >= 0;
        if (!any) break;   // MAX_REQUESTS reached (or nothing could connect)
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    L.stopping = true;
    for (auto& s : slots) {
        if (s.fd >= 0) ::close(s.fd);
        if (s.ssl != nullptr) SSL_free(s.ssl);
        if (s.sess != nullptr) SSL_SESSION_free(s.sess);
    }
    std::printf("  %llu requests in %.2fs\nRequests/sec: %.2f\nReused: %llu of %llu\nErrors: %llu\n",
                static_cast<unsigned long long>(L.done), elapsed, static_cast<double>(L.done) / elapsed,
                static_cast<unsigned long long>(L.reused), static_cast<unsigned long long>(L.done),
                static_cast<unsigned long long>(L.errors));
    SSL_CTX_free(L.ctx);
    return 0;
}
