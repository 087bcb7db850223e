#pragma once
// IP addresses and prefixes as ACLs match them. Every address is kept as 16 bytes:
// IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one table serves both families and an
// IPv4-mapped IPv6 client matches IPv4 patterns (HAProxy's behaviour).
// Owner: the conditions helper (geo/address.cc). Control plane parses; the data path only
// calls the noexcept members.

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

// An IPv4 network with a non-contiguous dotted mask ("10.0.0.1/255.0.255.0"). HAProxy accepts
// these and matches them (in a list, after its trees) against IPv4 and IPv4-mapped addresses
// only: (addr ^ net) & mask == 0.
struct MaskedV4 {
    std::uint32_t net = 0;    // host byte order, already ANDed with mask
    std::uint32_t mask = 0;   // host byte order, not contiguous

    bool contains(const IpAddr& a) const noexcept;
    std::string to_string() const;        // "10.0.0.1/255.0.255.0"
    auto operator<=>(const MaskedV4&) const = default;
};

// What a pattern that is not a strict dotted quad or IPv6 literal may be.
enum class NameLookup : std::uint8_t {
    // HAProxy at start-up without `-n`: the text goes to gethostbyname(); glibc answers
    // all-digits-and-dots text itself with inet_aton() ("10.12" = 10.0.0.12, "010.1" = 8.0.0.1).
    // Real host names are refused (skjold does no DNS for patterns).
    libc_numeric,
    // `-n`: only strict addresses ("10.12" is an error), as HAProxy with PAT_MF_NO_DNS.
    none,
};

// A parsed `src`-style pattern: a prefix, or (IPv4 only) a non-contiguous mask.
struct IpPattern {
    bool masked = false;
    Prefix prefix{};          // when !masked
    MaskedV4 masked_v4{};     // when masked
};

// Parses an address ("1.2.3.4", "2001:db8::1"), strictly (inet_pton).
std::optional<IpAddr> parse_ip(std::string_view s);

// Parses a pattern as HAProxy's pat_parse_ip() reads `src` patterns (see address.cc):
// "1.2.3.4", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "10.0.0.1/255.0.255.0" (masked),
// IPv6 "2001:db8::/32", and the inet_aton short forms ("10.12", "192.168.1/22") unless
// lookup is NameLookup::none. A bare address is a /32 (/128).
core::Result<IpPattern> parse_ip_pattern(std::string_view s, NameLookup lookup = NameLookup::libc_numeric);

// parse_ip_pattern() for places that need a prefix (option forwardfor except, ...): the same
// syntax, but a non-contiguous mask is an error.
core::Result<Prefix> parse_prefix(std::string_view s);

}  // namespace skjold::geo
