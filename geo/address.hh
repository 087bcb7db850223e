#pragma once
// IP addresses and prefixes as ACLs match them. Every address is kept as 16 bytes:
// IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one table serves both families and an
// IPv4-mapped IPv6 client matches IPv4 patterns (HAProxy's behaviour).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hh"

struct sockaddr;

namespace skjold::geo {

struct IpAddr {
    std::array<std::uint8_t, 16> b{};   // network byte order

    bool is_v4() const noexcept;          // ::ffff:0:0/96
    std::uint32_t v4() const noexcept;    // host byte order; only when is_v4()
    static IpAddr from_v4(std::uint32_t host_order) noexcept;
    static IpAddr from_v6(const std::uint8_t bytes[16]) noexcept;   // maps ::ffff:a.b.c.d to v4 form (identity)
    static std::optional<IpAddr> from_sockaddr(const sockaddr* sa) noexcept;
    std::string to_string() const;        // "1.2.3.4" or "2001:db8::1"
    auto operator<=>(const IpAddr&) const = default;
};

struct Prefix {
    IpAddr addr;          // host bits zeroed
    std::uint8_t len = 0; // 0..128 in the 16-byte space (an IPv4 /24 is len 96+24)

    bool contains(const IpAddr& a) const noexcept;
    bool is_v4() const noexcept { return addr.is_v4() && len >= 96; }
    std::string to_string() const;        // "10.0.0.0/8", "2001:db8::/32"
    auto operator<=>(const Prefix&) const = default;
};

// Parses an address ("1.2.3.4", "2001:db8::1").
std::optional<IpAddr> parse_ip(std::string_view s);

// Parses a pattern as HAProxy reads `src` patterns: "1.2.3.4", "10.0.0.0/8",
// "10.0.0.0/255.0.0.0", IPv6 "2001:db8::/32", and HAProxy's short forms ("10.12",
// "192.168.1/22") exactly as HAProxy's pattern parser reads them (verified against HAProxy's
// source, see the comment in address.cc). A bare address is a /32 (/128).
core::Result<Prefix> parse_prefix(std::string_view s);

}  // namespace skjold::geo
