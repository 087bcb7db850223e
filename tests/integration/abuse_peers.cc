#include "abuse_peers.hh"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace skjold::test {

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 100;   // every wait in EndlessServer is this short, so stop_ is seen quickly
}  // namespace

std::chrono::milliseconds process_cpu(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto paren = s.rfind(')');
    if (paren == std::string::npos) return std::chrono::milliseconds{0};
    // After "pid (comm)": field 3 (state) onwards; utime and stime are fields 14 and 15.
    std::istringstream in(s.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    const long hz = sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds{static_cast<long long>((utime + stime) * 1000 / static_cast<unsigned long long>(hz))};
}

long process_rss_kb(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    return std::atoi(v);
}

// ---------------------------------------------------------------------------------------------
// Slowloris

SlowlorisResult slowloris(const Address& at, int connections, std::chrono::milliseconds limit) {
    // A head that never ends: after the request line and Host, one header value grows forever.
    static constexpr std::string_view kHead = "GET /slow HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    struct Slow {
        int fd = -1;
        std::size_t sent = 0;
        bool answered = false;
    };
    SlowlorisResult res;
    std::vector<Slow> slow(static_cast<std::size_t>(connections));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return res;

    // Connect in batches no larger than a listen backlog, each batch established before the next,
    // so no SYN is dropped and retried a second later.
    constexpr int kBatch = 500;
    for (int first = 0; first < connections; first += kBatch) {
        const int last = std::min(connections, first + kBatch);
        std::vector<pollfd> pending;
        for (int i = first; i < last; ++i) {
            int fd = socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) break;
            if (connect(fd, at.sa(), at.length) != 0 && errno != EINPROGRESS) {
                ::close(fd);
                continue;
            }
            slow[static_cast<std::size_t>(i)].fd = fd;
            pending.push_back({fd, POLLOUT, 0});
        }
        for (auto end = Clock::now() + std::chrono::seconds(5); !pending.empty() && Clock::now() < end;) {
            if (poll(pending.data(), pending.size(), kPollMs) <= 0) continue;
            std::erase_if(pending, [](const pollfd& p) { return p.revents != 0; });
        }
    }
    for (int i = 0; i < connections; ++i) {
        Slow& s = slow[static_cast<std::size_t>(i)];
        if (s.fd < 0) continue;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            ::close(s.fd);
            s.fd = -1;
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
        ++res.connected;
    }

    const auto start = Clock::now();
    auto gone = [&](Slow& s) {
        ::close(s.fd);   // also leaves the epoll set
        s.fd = -1;
        ++res.closed;
        res.last_close = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    };
    // Every 10 ms a hundredth of the connections sends its next byte: each sends once a second.
    constexpr int kTickMs = 10;
    const std::size_t per_tick = (slow.size() + 99) / 100;
    std::size_t cursor = 0;
    auto next_tick = start;
    std::vector<epoll_event> events(512);
    char buf[4096];
    while (res.closed < res.connected && Clock::now() - start < limit) {
        if (Clock::now() >= next_tick) {
            for (std::size_t k = 0; k < per_tick; ++k, cursor = (cursor + 1) % slow.size()) {
                Slow& s = slow[cursor];
                if (s.fd < 0 || s.answered) continue;
                char c = s.sent < kHead.size() ? kHead[s.sent] : 'a';
                ssize_t n = ::send(s.fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n == 1) ++s.sent;
                else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) gone(s);
            }
            next_tick += std::chrono::milliseconds(kTickMs);
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()).count();
        int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), wait > 0 ? static_cast<int>(wait) : 0);
        for (int e = 0; e < n; ++e) {
            Slow& s = slow[events[static_cast<std::size_t>(e)].data.u32];
            if (s.fd < 0) continue;
            // Read what is there; EOF or an error: the connection is over.
            for (;;) {
                ssize_t r = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
                if (r > 0) {
                    if (!s.answered && std::string_view(buf, static_cast<std::size_t>(r)).rfind("HTTP/1.1 408", 0) == 0)
                        ++res.got_408;
                    s.answered = true;
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                gone(s);
                break;
            }
        }
    }
    for (auto& s : slow)
        if (s.fd >= 0) ::close(s.fd);
    ::close(ep);
    return res;
}

// ---------------------------------------------------------------------------------------------
// EndlessServer

EndlessServer::EndlessServer(Mode mode) : mode_(mode) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(listen_fd_, 16) != 0)
        throw std::runtime_error(std::string("EndlessServer: ") + std::strerror(errno));
    address_ = Address::local_of(listen_fd_);
    thread_ = std::thread([this] { run(); });
}

EndlessServer::~EndlessServer() {
    stop_.store(true);
    thread_.join();
    ::close(listen_fd_);
}

bool EndlessServer::wait_ended(std::chrono::milliseconds timeout) const {
    for (auto end = Clock::now() + timeout; Clock::now() < end;) {
        if (ended_.load() > 0) return true;
        usleep(10 * 1000);
    }
    return ended_.load() > 0;
}

void EndlessServer::run() noexcept {
    while (!stop_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, kPollMs) <= 0) continue;
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(fd);
    }
}

void EndlessServer::serve(int fd) noexcept {
    // The request head, then the misbehaviour.
    std::string in;
    char buf[4096];
    while (!stop_.load() && in.find("\r\n\r\n") == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, kPollMs) <= 0) continue;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            ::close(fd);
            return;
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
    const bool endless = mode_ == Mode::endless;
    std::string out = endless ? "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                              : "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                                    std::to_string(kResetLength) + "\r\n\r\n";
    const std::string chunk = endless ? "4000\r\n" + std::string(16384, 'e') + "\r\n" : std::string(16384, 'r');
    std::size_t body = 0;
    const std::size_t body_limit = endless ? ~std::size_t{0} : 256 * 1024;
    std::size_t off = 0;
    bool failed = false;
    while (!stop_.load() && !failed) {
        if (off == out.size()) {
            if (body >= body_limit) break;
            out = chunk;
            off = 0;
        }
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, kPollMs) <= 0) continue;
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            failed = errno != EAGAIN && errno != EWOULDBLOCK;
            continue;
        }
        off += static_cast<std::size_t>(n);
        body += static_cast<std::size_t>(n);
        sent_.fetch_add(static_cast<std::uint64_t>(n));
    }
    if (!endless) {
        linger l{1, 0};   // close with a reset
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
    if (failed || !endless) ended_.fetch_add(1);
}

}  // namespace skjold::test
