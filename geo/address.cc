// IP addresses and HAProxy-compatible `src` pattern parsing.
//
// What HAProxy does (read in haproxy/haproxy src/pattern.c and src/tools.c, and checked against
// the installed HAProxy 2.6.12 with `get acl` on its stats socket, inside a network namespace):
//
// - pat_parse_ip(): str2net(text, resolve, ...) first (IPv4), then str62net() (IPv6), else
//   "'%s' is not a valid IPv4 or IPv6 address". resolve = !(-n) && MODE_STARTING, i.e. true for
//   every pattern read from the configuration unless the ACL has `-n`.
// - str2net(): the mask is what follows the LAST '/'. str2mask(): a mask containing '.' must be
//   a full dotted quad (inet_pton); otherwise strtol(base 10), which must consume everything and
//   be <= 32 (so "+8" and "-0" are accepted, "" is not). The address is inet_pton(AF_INET)
//   (strict dotted quad, no leading zeros); when that fails and resolve is set, gethostbyname().
// - glibc's gethostbyname() answers text made only of digits and dots (starting with a digit,
//   not ending with '.') itself, with inet_aton(): "10.12" = 10.0.0.12, "192.168.1" =
//   192.168.0.1, "10" = 0.0.0.10, "010.1" = 8.0.0.1 (octal), "1.2.3.04" = 1.2.3.4, "09.1" is an
//   error. Anything else (a host name, hex "0x0a.1", "10.12.") goes to /etc/hosts and DNS: skjold
//   does no name resolution for patterns and reports an error instead.
//   So "192.168.1/24" is 192.168.0.1/24 = 192.168.0.0/24 (NOT 192.168.1.0/24): verified,
//   HAProxy 2.6 matches 192.168.0.1 and not 192.168.1.1 with it.
// - The address keeps its host bits; lookups only compare the prefix bits, so we zero them.
// - pat_idx_tree_ip(): a contiguous IPv4 mask goes into the IPv4 tree; a non-contiguous one is
//   accepted and kept in a list matched with (addr ^ net) & mask == 0 (IPv4 samples only).
// - str62net(): mask after the last '/', strtoul(base 10), must consume everything, non-empty,
//   <= 128; address inet_pton(AF_INET6) (accepts "::ffff:1.2.3.4").
// - pat_match_ip(): an IPv4 sample is looked up in the IPv4 tree, then as ::ffff:a.b.c.d in the
//   IPv6 tree; an IPv6 sample in the IPv6 tree, then (v6tov4(): only ::ffff:0:0/96) in the IPv4
//   tree. Keeping everything in the 16-byte mapped space gives the same answers.
// - -f files (pat_ref_read_from_file): see geo/pattern_file.cc.
#include "geo/address.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace skjold::geo {

namespace {

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Prefix make_prefix(const IpAddr& a, unsigned len) noexcept {
    Prefix p;
    p.len = static_cast<std::uint8_t>(len);
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bits_before = i * 8;
        if (bits_before >= len) p.addr.b[i] = 0;
        else if (len - bits_before < 8)
            p.addr.b[i] = static_cast<std::uint8_t>(a.b[i] & (0xffu << (8 - (len - bits_before))));
        else p.addr.b[i] = a.b[i];
    }
    return p;
}

bool all_digits_and_dots(const std::string& s) {
    if (s.empty() || s[0] < '0' || s[0] > '9' || s.back() == '.') return false;
    for (char c : s)
        if ((c < '0' || c > '9') && c != '.') return false;
    return true;
}

core::Unexpected<core::Error> invalid(std::string_view s) {
    return core::fail(core::Errc::invalid_argument,
                      "'" + std::string(s) + "' is not a valid IPv4 or IPv6 address");
}

// str2mask(): dotted quad or a bit count; returns the mask in host order.
std::optional<std::uint32_t> v4_mask(const std::string& m) {
    if (m.find('.') != std::string::npos) {
        in_addr a{};
        if (inet_pton(AF_INET, m.c_str(), &a) != 1) return std::nullopt;
        return ntohl(a.s_addr);
    }
    if (m.empty()) return std::nullopt;
    char* end = nullptr;
    long len = std::strtol(m.c_str(), &end, 10);
    if (*end != '\0' || len < 0 || len > 32) return std::nullopt;
    return len == 0 ? 0u : static_cast<std::uint32_t>(~0u << (32 - len));
}

std::optional<IpPattern> parse_v4(std::string_view text, NameLookup lookup) {
    std::string s(text);
    std::uint32_t mask = ~0u;
    if (auto slash = s.rfind('/'); slash != std::string::npos) {
        auto m = v4_mask(s.substr(slash + 1));
        if (!m) return std::nullopt;
        mask = *m;
        s.resize(slash);
    }
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        if (lookup != NameLookup::libc_numeric || !all_digits_and_dots(s)) return std::nullopt;
        if (inet_aton(s.c_str(), &a) == 0) return std::nullopt;
    }
    std::uint32_t addr = ntohl(a.s_addr);
    IpPattern p;
    if (mask + (mask & (~mask + 1)) == 0) {   // contiguous (HAProxy's test in pat_idx_tree_ip)
        unsigned len = mask == 0 ? 0 : 32 - static_cast<unsigned>(__builtin_ctz(mask));
        p.prefix = make_prefix(IpAddr::from_v4(addr), 96 + len);
    } else {
        p.masked = true;
        p.masked_v4 = MaskedV4{addr & mask, mask};
    }
    return p;
}

std::optional<IpPattern> parse_v6(std::string_view text) {
    std::string s(text);
    unsigned long len = 128;
    if (auto slash = s.rfind('/'); slash != std::string::npos) {
        std::string m = s.substr(slash + 1);
        if (m.empty()) return std::nullopt;
        char* end = nullptr;
        len = std::strtoul(m.c_str(), &end, 10);
        if (*end != '\0' || len > 128) return std::nullopt;
        s.resize(slash);
    }
    in6_addr a{};
    if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return std::nullopt;
    IpPattern p;
    p.prefix = make_prefix(IpAddr::from_v6(a.s6_addr), static_cast<unsigned>(len));
    return p;
}

bool looks_like_host_name(std::string_view s) {
    // Text HAProxy would send to DNS: host name characters with at least one letter.
    bool letter = false;
    for (char c : s) {
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        letter |= alpha;
        if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') return false;
    }
    return letter;
}

}  // namespace

bool IpAddr::is_v4() const noexcept {
    return std::memcmp(b.data(), kMappedPrefix, sizeof kMappedPrefix) == 0;
}

std::uint32_t IpAddr::v4() const noexcept {
    return (std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) | (std::uint32_t{b[14]} << 8) | b[15];
}

IpAddr IpAddr::from_v4(std::uint32_t host_order) noexcept {
    IpAddr a;
    std::memcpy(a.b.data(), kMappedPrefix, sizeof kMappedPrefix);
    a.b[12] = static_cast<std::uint8_t>(host_order >> 24);
    a.b[13] = static_cast<std::uint8_t>(host_order >> 16);
    a.b[14] = static_cast<std::uint8_t>(host_order >> 8);
    a.b[15] = static_cast<std::uint8_t>(host_order);
    return a;
}

IpAddr IpAddr::from_v6(const std::uint8_t bytes[16]) noexcept {
    IpAddr a;
    std::memcpy(a.b.data(), bytes, 16);
    return a;
}

std::optional<IpAddr> IpAddr::from_sockaddr(const sockaddr* sa) noexcept {
    if (sa == nullptr) return std::nullopt;
    if (sa->sa_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        return from_v4(ntohl(in.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        return from_v6(in6.sin6_addr.s6_addr);
    }
    return std::nullopt;
}

std::string IpAddr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4()) {
        in_addr a{htonl(v4())};
        inet_ntop(AF_INET, &a, buf, sizeof buf);
    } else {
        inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
    }
    return buf;
}

bool Prefix::contains(const IpAddr& a) const noexcept {
    unsigned full = len / 8, rest = len % 8;
    if (std::memcmp(a.b.data(), addr.b.data(), full) != 0) return false;
    if (rest == 0) return true;
    auto m = static_cast<std::uint8_t>(0xffu << (8 - rest));
    return (a.b[full] & m) == addr.b[full];
}

std::string Prefix::to_string() const {
    if (is_v4()) return addr.to_string() + "/" + std::to_string(len - 96);
    return addr.to_string() + "/" + std::to_string(len);
}

bool MaskedV4::contains(const IpAddr& a) const noexcept {
    return a.is_v4() && ((a.v4() ^ net) & mask) == 0;
}

std::string MaskedV4::to_string() const {
    return IpAddr::from_v4(net).to_string() + "/" + IpAddr::from_v4(mask).to_string();
}

std::optional<IpAddr> parse_ip(std::string_view s) {
    std::string t(s);
    in_addr a{};
    if (inet_pton(AF_INET, t.c_str(), &a) == 1) return IpAddr::from_v4(ntohl(a.s_addr));
    in6_addr a6{};
    if (inet_pton(AF_INET6, t.c_str(), &a6) == 1) return IpAddr::from_v6(a6.s6_addr);
    return std::nullopt;
}

core::Result<IpPattern> parse_ip_pattern(std::string_view s, NameLookup lookup) {
    if (auto p = parse_v4(s, lookup)) return *p;
    if (auto p = parse_v6(s)) return *p;
    if (lookup == NameLookup::libc_numeric && looks_like_host_name(s.substr(0, s.rfind('/'))))
        return core::fail(core::Errc::invalid_argument,
                          "'" + std::string(s) + "' is not a valid IPv4 or IPv6 address "
                          "(HAProxy would resolve it as a host name; skjold does not resolve "
                          "names in patterns: write the address)");
    return invalid(s);
}

core::Result<Prefix> parse_prefix(std::string_view s) {
    auto p = parse_ip_pattern(s, NameLookup::libc_numeric);
    if (!p) return core::Unexpected{p.error()};
    if (p->masked)
        return core::fail(core::Errc::invalid_argument,
                          "'" + std::string(s) + "': a non-contiguous mask is not allowed here");
    return p->prefix;
}

}  // namespace skjold::geo
