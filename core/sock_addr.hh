#pragma once
// A socket address (IPv4, IPv6 or unix path) as bind/connect take it.
// Parsing follows HAProxy's address syntax (configuration.txt 2.6, "bind"/"server"):
//   "*:80", ":80", "0.0.0.0:80", "::80"? no: IPv6 is "[::1]:80" or ":::80" / "::1:80"
//   (the last colon separates the port), "ipv4@", "ipv6@" prefixes, "unix@/path", "/path".

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "core/result.hh"

namespace skjold::core {

struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;

    int family() const noexcept { return ss.ss_family; }
    bool is_unix() const noexcept { return family() == AF_UNIX; }
    std::uint16_t port() const noexcept;
    void set_port(std::uint16_t p) noexcept;
    const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&ss); }
    sockaddr* sa() noexcept { return reinterpret_cast<sockaddr*>(&ss); }
    // "127.0.0.1:80", "[::1]:80", "unix@/run/x.sock"
    std::string to_string() const;
    bool operator==(const SockAddr& o) const noexcept;

    static SockAddr from(const sockaddr* sa, socklen_t len) noexcept;
};

enum class PortRule : std::uint8_t {
    required,    // "ADDR:PORT" (bind, server without port rule)
    optional,    // server "ADDR" alone (port from elsewhere) is accepted, port 0
    forbidden,
};

// Parses one address. `*` and empty host mean any IPv4 (0.0.0.0); `::` any IPv6.
// Host names are resolved once with getaddrinfo at load time (control plane, as HAProxy does).
Result<SockAddr> parse_sock_addr(std::string_view text, PortRule rule = PortRule::required);

// Off: a host name is an error instead of a getaddrinfo() call. For the fuzz targets, which must
// never send a DNS query; call before any thread starts.
void set_name_resolution(bool enabled) noexcept;

}  // namespace skjold::core
