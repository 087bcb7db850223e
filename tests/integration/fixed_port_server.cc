#include "fixed_port_server.hh"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace skjold::test {

FixedPortServer::FixedPortServer(std::string name, std::uint16_t port) : name_(std::move(name)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const Address at = *Address::ip("127.0.0.1", port);
    if (bind(listen_fd_, at.sa(), at.length) != 0 || listen(listen_fd_, 128) != 0) {
        const int e = errno;
        close(listen_fd_);
        throw std::runtime_error("bind/listen " + at.to_string() + ": " + std::strerror(e));
    }
    address_ = Address::local_of(listen_fd_);
    thread_ = std::thread([this] { run(); });
}

FixedPortServer::~FixedPortServer() {
    stop_.store(true);
    thread_.join();
    close(listen_fd_);
}

void FixedPortServer::run() noexcept {
    char sink[4096];
    while (!stop_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 5) <= 0) continue;
        const int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        accepted_.fetch_add(1);
        ssize_t w = send(c, name_.data(), name_.size(), MSG_NOSIGNAL);
        (void)w;
        // FIN after the name, then read until the peer's FIN (at most 1 s), so the client sees
        // an orderly close and never a reset for bytes we did not read.
        shutdown(c, SHUT_WR);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (!stop_.load() && std::chrono::steady_clock::now() < until) {
            pollfd q{c, POLLIN, 0};
            if (poll(&q, 1, 5) <= 0) continue;
            if (recv(c, sink, sizeof sink, 0) <= 0) break;
        }
        close(c);
    }
}

}  // namespace skjold::test
