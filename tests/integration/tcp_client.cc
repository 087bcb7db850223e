#include "tcp_client.hh"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace skjold::test {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A non-blocking socket with connect() issued; returns -1 and sets `error` when that already failed.
int start_connect(const Address& to, std::string_view from_ip, std::string& error) {
    int fd = socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    if (!from_ip.empty()) {
        auto from = Address::ip(from_ip, 0);
        if (!from || bind(fd, from->sa(), from->length) != 0) {
            error = "bind " + std::string(from_ip) + ": " + (from ? std::strerror(errno) : "not an IP");
            ::close(fd);
            return -1;
        }
    }
    if (connect(fd, to.sa(), to.length) != 0 && errno != EINPROGRESS) {
        error = "connect " + to.to_string() + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

// 0 when the connect finished well, else the errno it failed with.
int connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

}  // namespace

const char* to_string(Received::End e) noexcept {
    switch (e) {
        case Received::End::eof: return "EOF";
        case Received::End::reset: return "reset";
        case Received::End::timeout: return "timeout";
        case Received::End::count: return "all bytes";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, Received::End e) { return os << to_string(e); }

Connection Connection::open(const Address& to, std::string_view from_ip, std::chrono::milliseconds timeout) {
    Connection c;
    int fd = start_connect(to, from_ip, c.error_);
    if (fd < 0) return c;
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, static_cast<int>(timeout.count()));
    int err = n > 0 ? connect_result(fd) : ETIMEDOUT;
    if (err != 0) {
        c.error_ = "connect " + to.to_string() + ": " + std::strerror(err);
        ::close(fd);
        return c;
    }
    c.fd_ = fd;
    return c;
}

Connection::Connection(Connection&& other) noexcept : fd_(other.fd_), error_(std::move(other.error_)) {
    other.fd_ = -1;
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        error_ = std::move(other.error_);
        other.fd_ = -1;
    }
    return *this;
}

Connection::~Connection() { close(); }

void Connection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool Connection::shutdown_write() {
    if (fd_ < 0 || ::shutdown(fd_, SHUT_WR) != 0) {
        error_ = std::string("shutdown: ") + (fd_ < 0 ? "not connected" : std::strerror(errno));
        return false;
    }
    return true;
}

bool Connection::send_all(std::string_view data, std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
        error_ = "send: not connected";
        return false;
    }
    const auto deadline = Clock::now() + timeout;
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            error_ = std::string("send: ") + std::strerror(errno);
            return false;
        }
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, ms_left(deadline)) == 0) {
            error_ = "send: timed out with " + std::to_string(data.size() - off) + " bytes unsent";
            return false;
        }
    }
    return true;
}

Received Connection::read_until(std::size_t limit, std::chrono::milliseconds timeout) {
    Received r;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    char buf[64 * 1024];
    while (fd_ >= 0 && r.data.size() < limit) {
        std::size_t want = std::min(sizeof buf, limit - r.data.size());
        ssize_t n = recv(fd_, buf, want, 0);
        if (n > 0) {
            r.data.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            r.end = Received::End::eof;
            r.elapsed = since(start);
            return r;
        }
        if (errno != EAGAIN && errno != EINTR) {
            r.end = Received::End::reset;
            r.elapsed = since(start);
            return r;
        }
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, ms_left(deadline)) == 0) {
            r.end = Received::End::timeout;
            r.elapsed = since(start);
            return r;
        }
    }
    r.end = r.data.size() >= limit ? Received::End::count : Received::End::reset;
    r.elapsed = since(start);
    return r;
}

Received Connection::recv_all(std::chrono::milliseconds timeout) { return read_until(SIZE_MAX, timeout); }

Received Connection::recv_n(std::size_t n, std::chrono::milliseconds timeout) { return read_until(n, timeout); }

Received Connection::exchange(std::string_view data, std::chrono::milliseconds timeout) {
    Received r;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::size_t off = 0;
    bool shut = false;
    std::string buf(64 * 1024, '\0');
    while (fd_ >= 0) {
        if (off == data.size() && !shut) {
            shut = ::shutdown(fd_, SHUT_WR) == 0;
            if (!shut) break;
        }
        pollfd p{fd_, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
        if (poll(&p, 1, ms_left(deadline)) == 0) {
            r.end = Received::End::timeout;
            error_ = "exchange: timed out having sent " + std::to_string(off) + " of " +
                     std::to_string(data.size()) + " bytes and received " + std::to_string(r.data.size());
            break;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
            if (n > 0) {
                r.data.append(buf.data(), static_cast<std::size_t>(n));
            } else if (n == 0) {
                r.end = Received::End::eof;
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                r.end = Received::End::reset;
                error_ = std::string("exchange: recv: ") + std::strerror(errno);
                break;
            }
        }
        if (!shut && (p.revents & POLLOUT)) {
            ssize_t n = send(fd_, data.data() + off, std::min<std::size_t>(data.size() - off, 256 * 1024),
                             MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                r.end = Received::End::reset;
                error_ = std::string("exchange: send: ") + std::strerror(errno);
                break;
            }
        }
    }
    r.elapsed = since(start);
    return r;
}

std::vector<std::string> echo_concurrently(const Address& to, const std::vector<std::string>& messages,
                                           std::vector<std::string>& failures,
                                           std::chrono::milliseconds timeout) {
    struct Client {
        int fd = -1;
        bool connected = false;
        bool done = false;
        std::size_t sent = 0;
    };
    const auto deadline = Clock::now() + timeout;
    std::vector<Client> clients(messages.size());
    std::vector<std::string> replies(messages.size());
    auto fail = [&](std::size_t i, const std::string& why) {
        failures.push_back("connection " + std::to_string(i) + ": " + why);
        if (clients[i].fd >= 0) ::close(clients[i].fd);
        clients[i].fd = -1;
        clients[i].done = true;
    };
    for (std::size_t i = 0; i < messages.size(); ++i) {
        std::string error;
        clients[i].fd = start_connect(to, {}, error);
        if (clients[i].fd < 0) fail(i, error);
    }
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    char buf[16 * 1024];
    while (true) {
        fds.clear();
        index.clear();
        for (std::size_t i = 0; i < clients.size(); ++i) {
            const Client& c = clients[i];
            if (c.done) continue;
            short ev = POLLIN;
            if (!c.connected || c.sent < messages[i].size()) ev |= POLLOUT;
            fds.push_back({c.fd, ev, 0});
            index.push_back(i);
        }
        if (fds.empty()) break;
        int left = ms_left(deadline);
        if (left == 0 || poll(fds.data(), fds.size(), left) == 0) {
            for (std::size_t i : index) {
                fail(i, "timed out (connected " + std::to_string(clients[i].connected) + ", sent " +
                            std::to_string(clients[i].sent) + ", received " +
                            std::to_string(replies[i].size()) + ")");
            }
            break;
        }
        for (std::size_t k = 0; k < fds.size(); ++k) {
            std::size_t i = index[k];
            Client& c = clients[i];
            if (fds[k].revents == 0) continue;
            if (!c.connected) {
                if (int err = connect_result(c.fd); err != 0) {
                    fail(i, std::string("connect: ") + std::strerror(err));
                    continue;
                }
                if (!(fds[k].revents & POLLOUT)) continue;
                c.connected = true;
            }
            if (c.sent < messages[i].size()) {
                ssize_t n = send(c.fd, messages[i].data() + c.sent, messages[i].size() - c.sent, MSG_NOSIGNAL);
                if (n > 0) c.sent += static_cast<std::size_t>(n);
                else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    fail(i, std::string("send: ") + std::strerror(errno));
                    continue;
                }
            }
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = recv(c.fd, buf, sizeof buf, 0);
                if (n > 0) {
                    replies[i].append(buf, static_cast<std::size_t>(n));
                    if (replies[i].size() >= messages[i].size()) c.done = true;  // stays open until the end
                } else if (n == 0) {
                    fail(i, "EOF after " + std::to_string(replies[i].size()) + " bytes");
                } else if (errno != EAGAIN && errno != EINTR) {
                    fail(i, std::string("recv: ") + std::strerror(errno));
                }
            }
        }
    }
    for (auto& c : clients) {
        if (c.fd >= 0) ::close(c.fd);
    }
    return replies;
}

}  // namespace skjold::test
