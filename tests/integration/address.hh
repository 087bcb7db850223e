#pragma once
// An IPv4 or IPv6 socket address as the integration tests see it. Deliberately independent of
// core/sock_addr.hh: the harness is the oracle for the binary, so it parses the ready file itself.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace skjold::test {

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    // "127.0.0.1:80" or "[::1]:80"; nullopt when the text is anything else.
    static std::optional<Address> parse(std::string_view text);
    // An IP literal ("127.0.0.2", "::1") with a port (0: let the kernel pick).
    static std::optional<Address> ip(std::string_view literal, std::uint16_t port = 0);
    // The local address of a socket (getsockname).
    static Address local_of(int fd);

    int family() const noexcept { return storage.ss_family; }
    std::uint16_t port() const noexcept;
    std::string host() const;       // "127.0.0.1", "::1"
    std::string to_string() const;  // "127.0.0.1:80", "[::1]:80"
    const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }

    bool operator==(const Address& other) const noexcept { return to_string() == other.to_string(); }
};

std::ostream& operator<<(std::ostream& os, const Address& a);

// 127.0.0.1:PORT where nothing listens: a socket is bound to port 0, its port read, the socket closed.
// Connections to it are refused (unless some other process grabs the port in between; unlikely).
Address dead_address();

// A port that was free a moment ago on 127.0.0.1 (same trick), for configs that need a fixed port.
std::uint16_t free_port();

// What an in-process test server thread starts from: a non-blocking listening socket on
// 127.0.0.1 (port chosen by the kernel) and an eventfd that wakes the thread to stop it.
// Throws std::runtime_error when one cannot be made (nothing stays open then).
struct ServerSockets {
    int listen_fd = -1;
    int wake_fd = -1;
    Address address;
};
ServerSockets open_server_sockets();
void wake_server(int wake_fd) noexcept;   // the owner's destructor: wake, join, then close both

}  // namespace skjold::test
