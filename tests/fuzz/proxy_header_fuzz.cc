// Fuzz target: the PROXY protocol v1/v2 header parser (bind ... accept-proxy), which reads bytes
// straight from the internet edge. Checks: no crash, a parsed header never claims more bytes than
// it was given, need_more only while the input is shorter than the longest header.
#include <cstdint>
#include <span>

#include "proxy/proxy_protocol.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace skjold::proxy;
    // Also feed every prefix of the input, as the header may arrive a few bytes at a time.
    for (std::size_t n = 0; n <= size; n += (n < 64 ? 1 : 17)) {
        ProxyHeader h;
        const char* err = nullptr;
        ProxyParse r = parse_proxy_header(std::span<const std::uint8_t>(data, n), h, err);
        if (r == ProxyParse::ok && (h.length == 0 || h.length > n)) __builtin_trap();
        if (r == ProxyParse::error && err == nullptr) __builtin_trap();
        if (r == ProxyParse::need_more && n >= kMaxProxyHeader) __builtin_trap();
    }
    return 0;
}
