#include "address.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace skjold::test {

std::optional<Address> Address::ip(std::string_view literal, std::uint16_t port) {
    Address a;
    std::string text(literal);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    return std::nullopt;
}

std::optional<Address> Address::parse(std::string_view text) {
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return std::nullopt;
    }
    return ip(host, static_cast<std::uint16_t>(port));
}

Address Address::local_of(int fd) {
    Address a;
    a.length = sizeof(a.storage);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) {
        throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
    }
    return a;
}

std::uint16_t Address::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

std::string Address::host() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    } else if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
    } else {
        return "(no address)";
    }
    return buf;
}

std::string Address::to_string() const {
    if (family() == AF_INET6) return "[" + host() + "]:" + std::to_string(port());
    return host() + ":" + std::to_string(port());
}

std::ostream& operator<<(std::ostream& os, const Address& a) { return os << a.to_string(); }

Address dead_address() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    Address a = *Address::ip("127.0.0.1", 0);
    if (bind(fd, a.sa(), a.length) != 0) {
        int e = errno;
        close(fd);
        throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(e));
    }
    a = Address::local_of(fd);
    close(fd);
    return a;
}

std::uint16_t free_port() { return dead_address().port(); }

ServerSockets open_server_sockets() {
    ServerSockets s;
    s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.listen_fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    Address any = *Address::ip("127.0.0.1", 0);
    if (bind(s.listen_fd, any.sa(), any.length) != 0 || listen(s.listen_fd, SOMAXCONN) != 0) {
        int e = errno;
        close(s.listen_fd);
        throw std::runtime_error(std::string("bind/listen 127.0.0.1:0: ") + std::strerror(e));
    }
    s.address = Address::local_of(s.listen_fd);
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.wake_fd < 0) {
        int e = errno;
        close(s.listen_fd);
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(e));
    }
    return s;
}

void wake_server(int wake_fd) noexcept {
    std::uint64_t one = 1;
    ssize_t ignored = write(wake_fd, &one, sizeof one);
    (void)ignored;
}

}  // namespace skjold::test
