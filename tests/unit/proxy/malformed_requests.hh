#pragma once
// Malformed HTTP/1.x requests and the status skjold answers each one with, without contacting a
// server (issue 3, "Safety"). Owner: http-core. Used by tests/unit/proxy/http_parser_test.cc and
// by the integration tests (which also check that the server never saw the request).
//
// The statuses follow HAProxy 2.6 (measured against haproxy 2.6.12 with the same bytes), except
// where issue 3 asks for stricter parsing than HAProxy's: `haproxy` says what HAProxy 2.6 does
// then. Every request assumes the default tune.bufsize (16384).

#include <cstddef>
#include <string_view>

namespace skjold::test {

struct MalformedRequest {
    std::string_view name;
    std::string_view raw;
    int status;
    std::string_view haproxy;   // empty: HAProxy 2.6 answers the same status
};

namespace malformed_detail {

template <std::size_t N>
struct Bytes {
    char data[N]{};
    std::size_t len = 0;
    constexpr void add(std::string_view s) {
        for (char c : s) data[len++] = c;
    }
    constexpr void add_number(unsigned n) {
        char tmp[12]{};
        std::size_t k = 0;
        do {
            tmp[k++] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n != 0);
        while (k > 0) data[len++] = tmp[--k];
    }
    constexpr std::string_view view() const { return {data, len}; }
};

constexpr auto huge_header() {
    Bytes<20100> b;
    b.add("GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    for (int i = 0; i < 20000; ++i) b.add("a");
    b.add("\r\n\r\n");
    return b;
}

constexpr auto huge_uri() {
    Bytes<20100> b;
    b.add("GET /");
    for (int i = 0; i < 20000; ++i) b.add("a");
    b.add(" HTTP/1.1\r\nHost: a\r\n\r\n");
    return b;
}

// `count` header lines X-H0..X-H<count-1>, then the empty line.
template <unsigned kCount>
constexpr auto many_headers() {
    Bytes<32 + kCount * 16> b;
    b.add("GET / HTTP/1.1\r\n");
    for (unsigned i = 0; i < kCount; ++i) {
        b.add("X-H");
        b.add_number(i);
        b.add(": v\r\n");
    }
    b.add("\r\n");
    return b;
}

inline constexpr auto kHugeHeader = huge_header();
inline constexpr auto kHugeUri = huge_uri();
inline constexpr auto k101Headers = many_headers<101>();

}  // namespace malformed_detail

// Valid: exactly 100 header lines are accepted (HAProxy's tune.http.maxhdr 101 counts the
// start line); kept here so tests can check the boundary from both sides.
inline constexpr auto kHundredHeaders = malformed_detail::many_headers<100>();

using namespace std::string_view_literals;

inline constexpr MalformedRequest kMalformedRequests[] = {
    // framing: Content-Length / Transfer-Encoding
    {"content-length and transfer-encoding",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"sv, 400,
     "forwards it without Content-Length"},
    {"transfer-encoding then content-length",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"sv, 400,
     "forwards it without Content-Length"},
    {"two differing content-length lines",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"sv, 400, ""},
    {"differing content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!"sv, 400, ""},
    {"negative content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"sv, 400, ""},
    {"content-length not a number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n"sv, 400, ""},
    {"content-length with a plus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"sv, 400, ""},
    {"content-length overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"sv,
     400, ""},
    {"transfer-encoding gzip alone", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"sv, 400, ""},
    {"chunked not the final coding",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"sv, 400, ""},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"sv, 400,
     ""},
    {"two transfer-encoding lines",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"sv,
     400, ""},
    {"transfer-encoding identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"sv, 400, ""},
    {"transfer-encoding xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"sv,
     400, ""},
    {"transfer-encoding in HTTP/1.0",
     "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"sv, 400,
     "forwards it (RFC 9112 6.1: the framing is faulty)"},
    // line folding, bare CR / LF / NUL, control characters
    {"obs-fold with a space", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n"sv, 400, "unfolds it"},
    {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n"sv, 400, "unfolds it"},
    {"bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n"sv, 400, "accepts LF alone"},
    {"bare LF after a header", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"sv, 400, "accepts LF alone"},
    {"bare CR in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"sv, 400, ""},
    {"bare CR after the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n"sv, 400, ""},
    {"NUL in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n"sv, 400, "forwards it"},
    {"NUL in a header name", "GET / HTTP/1.1\r\nHost: a\r\nX-\0A: b\r\n\r\n"sv, 400, ""},
    {"NUL in the uri", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"control character in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01" "c\r\n\r\n"sv, 400,
     "forwards it"},
    {"DEL in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f" "c\r\n\r\n"sv, 400, "forwards it"},
    // header names
    {"space inside a header name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"sv, 400, ""},
    {"space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"sv, 400, ""},
    {"@ in a header name", "GET / HTTP/1.1\r\nHost: a\r\nX@A: b\r\n\r\n"sv, 400, ""},
    {"parentheses in a header name", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n"sv, 400, ""},
    {"empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"sv, 400, ""},
    {"header line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nXA\r\n\r\n"sv, 400, ""},
    {"header line starting with a space", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"sv, 400, ""},
    {"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"sv, 400, ""},
    // request line
    {"invalid character in the method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"control character in the method", "GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"HTTP/0.9 request", "GET /\r\n\r\n"sv, 400, ""},
    {"HTTP/2.0 on an HTTP/1 connection", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"sv, 400, "forwards it"},
    {"lower-case protocol name", "GET / http/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"garbage version", "GET / HTTP/x.y\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"space in the uri", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"tab in the uri", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"non-ASCII byte in the uri", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"missing uri", "GET HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400, ""},
    {"TLS handshake on a plain HTTP port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"sv, 400, ""},
    // limits
    {"header value over tune.bufsize", malformed_detail::kHugeHeader.view(), 400, ""},
    {"uri over tune.bufsize", malformed_detail::kHugeUri.view(), 400, ""},
    {"101 header lines", malformed_detail::k101Headers.view(), 400, ""},
};

}  // namespace skjold::test
