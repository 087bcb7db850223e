#include "core/sock_addr.hh"

#include <arpa/inet.h>
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <netdb.h>

namespace skjold::core {

namespace {
bool g_resolve_names = true;   // set once before any thread starts (fuzz harness)
}

void set_name_resolution(bool enabled) noexcept { g_resolve_names = enabled; }

std::uint16_t SockAddr::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    return 0;
}

void SockAddr::set_port(std::uint16_t p) noexcept {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
}

std::string SockAddr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(port());
    }
    if (family() == AF_UNIX) return "unix@" + std::string(reinterpret_cast<const sockaddr_un*>(&ss)->sun_path);
    return "?";
}

bool SockAddr::operator==(const SockAddr& o) const noexcept {
    return len == o.len && std::memcmp(&ss, &o.ss, len) == 0;
}

SockAddr SockAddr::from(const sockaddr* sa, socklen_t len) noexcept {
    SockAddr a;
    if (len > sizeof a.ss) len = sizeof a.ss;
    std::memcpy(&a.ss, sa, len);
    a.len = len;
    return a;
}

namespace {

Result<SockAddr> make_unix(std::string_view path) {
    SockAddr a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.ss);
    if (path.empty() || path.size() >= sizeof un->sun_path)
        return fail(Errc::invalid_argument, "unix socket path is empty or longer than 107 bytes");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return a;
}

Result<std::uint16_t> parse_port(std::string_view p) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc{} || ptr != p.data() + p.size() || v > 65535)
        return fail(Errc::invalid_argument, "invalid port '" + std::string(p) + "'");
    return static_cast<std::uint16_t>(v);
}

}  // namespace

Result<SockAddr> parse_sock_addr(std::string_view text, PortRule rule) {
    std::string_view t = text;
    int want_family = AF_UNSPEC;
    if (t.starts_with("unix@")) return make_unix(t.substr(5));
    if (t.starts_with("/")) return make_unix(t);
    if (t.starts_with("ipv4@")) { want_family = AF_INET; t.remove_prefix(5); }
    else if (t.starts_with("ipv6@")) { want_family = AF_INET6; t.remove_prefix(5); }

    std::string_view host, port;
    bool have_port = false;
    if (t.starts_with("[")) {
        auto close = t.find(']');
        if (close == std::string_view::npos) return fail(Errc::invalid_argument, "missing ']' in '" + std::string(text) + "'");
        host = t.substr(1, close - 1);
        auto rest = t.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return fail(Errc::invalid_argument, "unexpected text after ']' in '" + std::string(text) + "'");
            port = rest.substr(1);
            have_port = true;
        }
        if (want_family == AF_UNSPEC) want_family = AF_INET6;
    } else {
        auto colon = t.rfind(':');
        std::size_t ncolons = static_cast<std::size_t>(std::count(t.begin(), t.end(), ':'));
        if (colon != std::string_view::npos && (ncolons == 1 || rule != PortRule::forbidden)) {
            // With several colons (IPv6) the last one separates the port, as HAProxy reads it,
            // unless the whole text is a valid IPv6 address and a port is optional.
            in6_addr tmp{};
            std::string whole(t);
            if (ncolons > 1 && rule == PortRule::optional && inet_pton(AF_INET6, whole.c_str(), &tmp) == 1) {
                host = t;
            } else {
                host = t.substr(0, colon);
                port = t.substr(colon + 1);
                have_port = true;
            }
        } else {
            host = t;
        }
    }
    if (have_port && rule == PortRule::forbidden) return fail(Errc::invalid_argument, "a port is not allowed in '" + std::string(text) + "'");
    if (!have_port && rule == PortRule::required) return fail(Errc::invalid_argument, "missing port in '" + std::string(text) + "'");

    std::uint16_t portv = 0;
    if (have_port) {
        auto p = parse_port(port);
        if (!p) return Unexpected{p.error()};
        portv = *p;
    }

    SockAddr a;
    std::string h(host);
    if (h.empty() || h == "*" || h == "0.0.0.0") {
        if (want_family == AF_INET6) h = "::";
        else {
            auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
            in->sin_family = AF_INET;
            in->sin_port = htons(portv);
            a.len = sizeof(sockaddr_in);
            return a;
        }
    }
    if (want_family != AF_INET6) {
        auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
        if (inet_pton(AF_INET, h.c_str(), &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons(portv);
            a.len = sizeof(sockaddr_in);
            return a;
        }
    }
    if (want_family != AF_INET) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
        if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(portv);
            a.len = sizeof(sockaddr_in6);
            return a;
        }
    }
    // A host name: resolved once, here, on the control plane (as HAProxy does at start-up).
    if (!g_resolve_names)
        return fail(Errc::invalid_argument, "cannot resolve address '" + h + "': name resolution is disabled");
    addrinfo hints{};
    hints.ai_family = want_family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(h.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr)
        return fail(Errc::invalid_argument, "cannot resolve address '" + h + "': " + gai_strerror(rc));
    a = SockAddr::from(res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    a.set_port(portv);
    return a;
}

}  // namespace skjold::core
