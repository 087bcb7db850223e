#include "proxy/proxy_protocol.hh"

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>

namespace skjold::proxy {

namespace {

constexpr std::uint8_t kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t kV1Max = 107;

bool parse_port(const char* s, std::size_t n, std::uint16_t& out) noexcept {
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0')) return false;   // the spec forbids leading zeros
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    if (v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

bool parse_addr(const char* s, std::size_t n, bool v6, geo::IpAddr& out) noexcept {
    char tmp[48];
    if (n == 0 || n >= sizeof tmp) return false;
    std::memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!v6) {
        in_addr a{};
        if (inet_pton(AF_INET, tmp, &a) != 1) return false;
        out = geo::IpAddr::from_v4(ntohl(a.s_addr));
        return true;
    }
    in6_addr a{};
    if (inet_pton(AF_INET6, tmp, &a) != 1) return false;
    out = geo::IpAddr::from_v6(a.s6_addr);
    return true;
}

ProxyParse parse_v1(std::span<const std::uint8_t> d, ProxyHeader& out, const char*& error) noexcept {
    // "PROXY TCP4 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n", at most 107 bytes.
    std::size_t end = 0;
    while (end + 1 < d.size() && end + 1 < kV1Max && !(d[end] == '\r' && d[end + 1] == '\n')) ++end;
    if (end + 1 >= d.size()) {
        if (d.size() >= kV1Max) {
            error = "PROXY v1 header longer than 107 bytes";
            return ProxyParse::error;
        }
        return ProxyParse::need_more;
    }
    if (d[end] != '\r' || d[end + 1] != '\n') {
        error = "PROXY v1 header longer than 107 bytes";
        return ProxyParse::error;
    }
    const char* line = reinterpret_cast<const char*>(d.data());
    // Split into at most 6 space-separated words.
    const char* w[6];
    std::size_t wl[6];
    int nw = 0;
    std::size_t i = 0;
    while (i < end && nw < 6) {
        std::size_t start = i;
        while (i < end && line[i] != ' ') ++i;
        w[nw] = line + start;
        wl[nw] = i - start;
        ++nw;
        if (i < end) ++i;   // the single space
    }
    out = ProxyHeader{};
    out.version = 1;
    out.length = end + 2;
    if (nw >= 2 && wl[1] == 7 && std::memcmp(w[1], "UNKNOWN", 7) == 0) return ProxyParse::ok;
    if (nw != 6 || i < end) {
        error = "malformed PROXY v1 header";
        return ProxyParse::error;
    }
    bool v6;
    if (wl[1] == 4 && std::memcmp(w[1], "TCP4", 4) == 0) v6 = false;
    else if (wl[1] == 4 && std::memcmp(w[1], "TCP6", 4) == 0) v6 = true;
    else {
        error = "PROXY v1 header with an unknown protocol";
        return ProxyParse::error;
    }
    if (!parse_addr(w[2], wl[2], v6, out.src) || !parse_addr(w[3], wl[3], v6, out.dst) ||
        !parse_port(w[4], wl[4], out.src_port) || !parse_port(w[5], wl[5], out.dst_port)) {
        error = "PROXY v1 header with a bad address or port";
        return ProxyParse::error;
    }
    out.has_addresses = true;
    return ProxyParse::ok;
}

ProxyParse parse_v2(std::span<const std::uint8_t> d, ProxyHeader& out, const char*& error) noexcept {
    if (d.size() < 16) return ProxyParse::need_more;
    std::uint8_t ver_cmd = d[12], fam = d[13];
    std::size_t len = (std::size_t{d[14]} << 8) | d[15];
    if ((ver_cmd & 0xF0) != 0x20) {
        error = "PROXY v2 header with a bad version";
        return ProxyParse::error;
    }
    if (16 + len > kMaxProxyHeader) {
        error = "PROXY v2 header too long";
        return ProxyParse::error;
    }
    if (d.size() < 16 + len) return ProxyParse::need_more;
    out = ProxyHeader{};
    out.version = 2;
    out.length = 16 + len;
    std::uint8_t cmd = ver_cmd & 0x0F;
    if (cmd == 0x0) return ProxyParse::ok;   // LOCAL: the balancer's own connection
    if (cmd != 0x1) {
        error = "PROXY v2 header with an unknown command";
        return ProxyParse::error;
    }
    const std::uint8_t* a = d.data() + 16;
    if (fam == 0x11) {   // TCP over IPv4
        if (len < 12) {
            error = "PROXY v2 header too short for IPv4 addresses";
            return ProxyParse::error;
        }
        std::uint32_t s, t;
        std::memcpy(&s, a, 4);
        std::memcpy(&t, a + 4, 4);
        out.src = geo::IpAddr::from_v4(ntohl(s));
        out.dst = geo::IpAddr::from_v4(ntohl(t));
        out.src_port = static_cast<std::uint16_t>((a[8] << 8) | a[9]);
        out.dst_port = static_cast<std::uint16_t>((a[10] << 8) | a[11]);
        out.has_addresses = true;
    } else if (fam == 0x21) {   // TCP over IPv6
        if (len < 36) {
            error = "PROXY v2 header too short for IPv6 addresses";
            return ProxyParse::error;
        }
        out.src = geo::IpAddr::from_v6(a);
        out.dst = geo::IpAddr::from_v6(a + 16);
        out.src_port = static_cast<std::uint16_t>((a[32] << 8) | a[33]);
        out.dst_port = static_cast<std::uint16_t>((a[34] << 8) | a[35]);
        out.has_addresses = true;
    }
    // UNSPEC, UDP and unix families: accepted, the real peer address is kept (the spec says
    // a receiver may ignore what it does not support).
    return ProxyParse::ok;
}

}  // namespace

ProxyParse parse_proxy_header(std::span<const std::uint8_t> data, ProxyHeader& out, const char*& error) noexcept {
    error = nullptr;
    if (data.empty()) return ProxyParse::need_more;
    if (data[0] == 0x0D) {
        std::size_t n = data.size() < sizeof kV2Sig ? data.size() : sizeof kV2Sig;
        if (std::memcmp(data.data(), kV2Sig, n) != 0) {
            error = "missing PROXY protocol header";
            return ProxyParse::error;
        }
        if (data.size() < sizeof kV2Sig) return ProxyParse::need_more;
        return parse_v2(data, out, error);
    }
    static constexpr char kV1[] = "PROXY ";
    std::size_t n = data.size() < 6 ? data.size() : 6;
    if (std::memcmp(data.data(), kV1, n) != 0) {
        error = "missing PROXY protocol header";
        return ProxyParse::error;
    }
    if (data.size() < 6) return ProxyParse::need_more;
    return parse_v1(data, out, error);
}

std::size_t build_proxy_v1(std::span<std::uint8_t> buf, bool known, const geo::IpAddr& src, std::uint16_t sport,
                           const geo::IpAddr& dst, std::uint16_t dport) noexcept {
    if (buf.size() < kMaxProxyOut) return 0;
    char* out = reinterpret_cast<char*>(buf.data());
    if (!known) {
        std::memcpy(out, "PROXY UNKNOWN\r\n", 15);
        return 15;
    }
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    bool v4 = src.is_v4() && dst.is_v4();
    if (v4) {
        in_addr a{htonl(src.v4())}, b{htonl(dst.v4())};
        inet_ntop(AF_INET, &a, s, sizeof s);
        inet_ntop(AF_INET, &b, d, sizeof d);
    } else {
        inet_ntop(AF_INET6, src.b.data(), s, sizeof s);
        inet_ntop(AF_INET6, dst.b.data(), d, sizeof d);
    }
    int n = std::snprintf(out, buf.size(), "PROXY %s %s %s %u %u\r\n", v4 ? "TCP4" : "TCP6", s, d,
                          static_cast<unsigned>(sport), static_cast<unsigned>(dport));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t build_proxy_v2(std::span<std::uint8_t> buf, bool known, const geo::IpAddr& src, std::uint16_t sport,
                           const geo::IpAddr& dst, std::uint16_t dport) noexcept {
    if (buf.size() < kMaxProxyOut) return 0;
    std::uint8_t* p = buf.data();
    std::memcpy(p, kV2Sig, sizeof kV2Sig);
    if (!known) {
        p[12] = 0x20;   // v2, LOCAL
        p[13] = 0x00;
        p[14] = p[15] = 0;
        return 16;
    }
    p[12] = 0x21;       // v2, PROXY
    std::uint8_t* a = p + 16;
    std::size_t len;
    if (src.is_v4() && dst.is_v4()) {
        p[13] = 0x11;
        std::uint32_t s = htonl(src.v4()), t = htonl(dst.v4());
        std::memcpy(a, &s, 4);
        std::memcpy(a + 4, &t, 4);
        a[8] = static_cast<std::uint8_t>(sport >> 8);
        a[9] = static_cast<std::uint8_t>(sport);
        a[10] = static_cast<std::uint8_t>(dport >> 8);
        a[11] = static_cast<std::uint8_t>(dport);
        len = 12;
    } else {
        p[13] = 0x21;
        std::memcpy(a, src.b.data(), 16);
        std::memcpy(a + 16, dst.b.data(), 16);
        a[32] = static_cast<std::uint8_t>(sport >> 8);
        a[33] = static_cast<std::uint8_t>(sport);
        a[34] = static_cast<std::uint8_t>(dport >> 8);
        a[35] = static_cast<std::uint8_t>(dport);
        len = 36;
    }
    p[14] = static_cast<std::uint8_t>(len >> 8);
    p[15] = static_cast<std::uint8_t>(len);
    return 16 + len;
}

}  // namespace skjold::proxy
