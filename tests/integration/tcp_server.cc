#include "tcp_server.hh"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace skjold::test {

namespace {
// Stop reading a connection while this much echo is still unsent: the server applies backpressure
// like a real one, so a proxy that ignores it shows up as a stalled transfer rather than as RAM use.
constexpr std::size_t kMaxPending = 256 * 1024;
constexpr int kPollTimeoutMs = 1000;  // only a safety net: the eventfd wakes the loop to stop
}  // namespace

struct TcpServer::Conn {
    int fd = -1;
    std::string out;          // bytes still to send (banner, then echo)
    std::size_t sent = 0;     // of `out`
    bool peer_eof = false;    // the client sent FIN
    bool shut_write = false;  // we sent FIN
    bool dead = false;        // reset or error: closed in the sweep
};

TcpServer::TcpServer(std::string banner, Then then) : banner_(std::move(banner)), then_(then) {
    ServerSockets s = open_server_sockets();
    listen_fd_ = s.listen_fd;
    wake_fd_ = s.wake_fd;
    address_ = s.address;
    thread_ = std::thread([this] { run(); });
}

TcpServer::~TcpServer() {
    wake_server(wake_fd_);
    thread_.join();
    close(wake_fd_);
    close(listen_fd_);
}

void TcpServer::run() noexcept {
    std::vector<std::unique_ptr<Conn>> conns;
    std::vector<pollfd> fds;
    std::vector<char> buf(64 * 1024);
    auto drop = [&](std::size_t i) {
        close(conns[i]->fd);
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
        open_.fetch_sub(1);
    };
    while (true) {
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const auto& c : conns) {
            short ev = 0;
            if (!c->peer_eof && c->out.size() - c->sent < kMaxPending) ev |= POLLIN;
            if (c->sent < c->out.size()) ev |= POLLOUT;
            fds.push_back({c->fd, ev, 0});
        }
        if (poll(fds.data(), fds.size(), kPollTimeoutMs) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) break;
        // Existing connections first (indices match `fds` until the accepts and the sweep below).
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = *conns[i];
            short rev = fds[i + 2].revents;
            if (rev == 0) continue;
            if (rev & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
                if (n > 0) {
                    bytes_in_.fetch_add(static_cast<std::uint64_t>(n));
                    if (then_ == Then::echo) c.out.append(buf.data(), static_cast<std::size_t>(n));
                } else if (n == 0) {
                    c.peer_eof = true;
                } else if (errno != EAGAIN && errno != EINTR) {
                    c.dead = true;
                    continue;
                }
            }
            if (c.sent < c.out.size()) {
                ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
                if (n > 0) {
                    c.sent += static_cast<std::size_t>(n);
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    c.dead = true;
                    continue;
                }
                if (c.sent == c.out.size()) {
                    c.out.clear();
                    c.sent = 0;
                }
            }
        }
        if (fds[1].revents & POLLIN) {
            while (true) {
                int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;  // EAGAIN: all taken; anything else: the client is gone already
                auto c = std::make_unique<Conn>();
                c->fd = fd;
                c->out = banner_;
                conns.push_back(std::move(c));
                accepted_.fetch_add(1);
                auto now = open_.fetch_add(1) + 1;
                if (now > peak_.load()) peak_.store(now);
            }
        }
        for (std::size_t i = conns.size(); i-- > 0;) {
            Conn& c = *conns[i];
            if (c.dead) {
                drop(i);
                continue;
            }
            bool flushed = c.sent >= c.out.size();
            if (flushed && !c.shut_write && (then_ == Then::close || c.peer_eof)) {
                shutdown(c.fd, SHUT_WR);
                c.shut_write = true;
            }
            if (c.shut_write && c.peer_eof) drop(i);
        }
    }
    for (auto& c : conns) close(c->fd);
    open_.store(0);
}

}  // namespace skjold::test
