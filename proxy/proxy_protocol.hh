#pragma once
// The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 (text) and 2 (binary):
// parsing what an L4 balancer or CDN puts in front of a client connection (`bind ... accept-proxy`)
// and building what we put in front of a server connection (`server ... send-proxy[-v2]`).
// Pure functions over bytes: noexcept, no allocation.

#include <cstddef>
#include <cstdint>
#include <span>

#include "geo/address.hh"

namespace skjold::proxy {

// Longest header accepted: v1 is at most 107 bytes; v2 is 16 bytes plus addresses and TLVs,
// which we skip but bound.
inline constexpr std::size_t kMaxProxyHeader = 536;
// Longest header we build (v1 TCP6 is 104 bytes; v2 TCP6 is 52).
inline constexpr std::size_t kMaxProxyOut = 108;

struct ProxyHeader {
    bool has_addresses = false;     // false: v1 UNKNOWN, v2 LOCAL or an unsupported family: keep the real peer
    geo::IpAddr src{}, dst{};
    std::uint16_t src_port = 0, dst_port = 0;
    std::size_t length = 0;         // bytes the header takes at the start of the stream
    int version = 0;
};

enum class ProxyParse : std::uint8_t { need_more, ok, error };

// Parses the start of `data`. `error` (on ProxyParse::error) says what was wrong.
ProxyParse parse_proxy_header(std::span<const std::uint8_t> data, ProxyHeader& out, const char*& error) noexcept;

// Builds a header for a connection from src:sport to dst:dport into `buf`; returns its length
// (0 if `buf` is smaller than kMaxProxyOut). When both addresses are
// IPv4 it is TCP4, otherwise TCP6 (IPv4 addresses then written IPv4-mapped), as HAProxy does.
// `known` false writes "PROXY UNKNOWN" (v1) or a LOCAL command (v2).
std::size_t build_proxy_v1(std::span<std::uint8_t> buf, bool known, const geo::IpAddr& src, std::uint16_t sport,
                           const geo::IpAddr& dst, std::uint16_t dport) noexcept;
std::size_t build_proxy_v2(std::span<std::uint8_t> buf, bool known, const geo::IpAddr& src, std::uint16_t sport,
                           const geo::IpAddr& dst, std::uint16_t dport) noexcept;

}  // namespace skjold::proxy
