#pragma once
// The HTTP/1.1 side of the integration tests: a raw client (send any bytes, read one response at a
// time with its framing: Content-Length, chunked, until close; keep-alive and pipelining fall out of
// reading from one buffered connection), the wire helpers the in-process HTTP backend shares with it,
// sha256 (OpenSSL EVP), PROXY v1 headers and curl. Owner: the test thread that opened the client.
// Deliberately independent of proxy/http_*: the tests are the oracle for skjold's parser.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "address.hh"
#include "skjold_process.hh"
#include "tcp_client.hh"

namespace skjold::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

// A parsed message head (request or response). The wire helpers below fill it; both the client and
// HttpBackend use them.
struct HttpHead {
    std::string raw;                    // start line to the blank line, CRLF CRLF included
    std::string start[3];               // request: method, target, version; response: version, status, reason
    Headers headers;                    // in received order, values without surrounding OWS
    std::optional<std::string> header(std::string_view name) const;        // first line named `name`
    std::vector<std::string> header_all(std::string_view name) const;      // every line, in order
    std::size_t header_count(std::string_view name) const;
    // True when some line named `name` has `token` in its comma-separated list (case-insensitive).
    bool has_token(std::string_view name, std::string_view token) const;
};

// Looks for a complete head at the start of `in` (CRLF line ends; a bare LF is an error). Returns
// the head length (through CRLF CRLF), 0 when more bytes are needed, or -1 with `error` set when the
// bytes are not an HTTP/1.x head. Leading empty lines are skipped (RFC 9112 2.2) and counted.
long parse_head(std::string_view in, bool request, HttpHead& out, std::string& error);

// Incremental chunked-body decoder (RFC 9112 7.1), for bodies that arrive in pieces.
class ChunkedDecoder {
public:
    enum class Status : std::uint8_t { need_more, done, error };
    // Consumes as much of `in` as it can (setting `used`), appending the payload to `body`.
    Status feed(std::string_view in, std::size_t& used, std::string& body);
    const std::string& trailers() const noexcept { return trailers_; }
    const std::string& error() const noexcept { return error_; }

private:
    enum class State : std::uint8_t { size, data, data_crlf, trailer, done };
    State state_ = State::size;
    std::uint64_t left_ = 0;
    std::string trailers_;
    std::string error_;
};

// `body` as chunks of `chunk` bytes (the last may be shorter), then the last-chunk and `trailers`
// (each "Name: value\r\n").
std::string chunk_body(std::string_view body, std::size_t chunk, std::string_view trailers = {});

// Lowercase hex sha256 (OpenSSL EVP).
std::string sha256_hex(std::string_view data);

// The standard reason phrase ("Not Found"), "Unknown" for codes without one.
std::string_view reason_phrase(int status) noexcept;

// One response as the client read it.
struct HttpResponse {
    std::string error;                  // "" when a whole response was read; else why not
    HttpHead head;
    int status = 0;
    std::string body;                   // de-chunked
    bool chunked = false;
    bool until_close = false;           // framed by the end of the connection
    std::string trailers;               // chunked trailers, raw
    std::size_t wire_bytes = 0;         // bytes this response took on the wire (head + framed body)

    bool ok() const noexcept { return error.empty(); }
    std::optional<std::string> header(std::string_view name) const { return head.header(name); }
    std::vector<std::string> header_all(std::string_view name) const { return head.header_all(name); }
    bool has_token(std::string_view name, std::string_view token) const { return head.has_token(name, token); }
};
std::ostream& operator<<(std::ostream& os, const HttpResponse& r);  // status line + error, for INFO

class HttpClient {
public:
    // Connects (from `from_ip` when given); check connected()/error().
    static HttpClient open(const Address& to, std::string_view from_ip = {}, std::chrono::milliseconds timeout = 5s);

    bool connected() const noexcept { return conn_.connected(); }
    const std::string& error() const noexcept { return conn_.error(); }
    Connection& connection() noexcept { return conn_; }
    Address local() const { return conn_.local(); }

    bool send(std::string_view raw, std::chrono::milliseconds timeout = 5s) { return conn_.send_all(raw, timeout); }
    // Reads the next response (a 1xx is returned on its own). `head_request`: the request was HEAD,
    // so the response has no body whatever its headers say. 101 ends with the head (a tunnel follows).
    HttpResponse read_response(bool head_request = false, std::chrono::milliseconds timeout = 5s);
    // Reads responses until a final (non-1xx) one; the 1xx ones go to `interim` when given.
    HttpResponse read_final(bool head_request = false, std::chrono::milliseconds timeout = 5s,
                            std::vector<HttpResponse>* interim = nullptr);
    // send() then read_final().
    HttpResponse roundtrip(std::string_view raw, bool head_request = false, std::chrono::milliseconds timeout = 5s);
    // Reads raw bytes (after a 101: the tunnel) until `n` are buffered, EOF or timeout; consumes them.
    std::string read_raw(std::size_t n, std::chrono::milliseconds timeout = 5s);
    // Waits for the peer to end the connection. What arrived meanwhile (should be nothing) is in
    // data; end says EOF, reset or timeout (still open).
    Received wait_close(std::chrono::milliseconds timeout = 5s);
    const std::string& buffered() const noexcept { return in_; }  // read but not consumed yet
    void close() { conn_.close(); }

private:
    // Reads more into in_; false at EOF/reset/timeout (`why` says which).
    bool fill(std::chrono::steady_clock::time_point deadline, std::string& why);

    Connection conn_;
    std::string in_;
    bool eof_ = false;
};

// A request: "METHOD TARGET HTTP/1.1", Host (unless `headers` has one), `headers` ("Name: value"
// each), Content-Length when `body` is not empty and no Transfer-Encoding/Content-Length is given.
std::string http_request(std::string_view method, std::string_view target,
                         std::initializer_list<std::string_view> headers = {}, std::string_view body = {});
inline std::string http_get(std::string_view target, std::initializer_list<std::string_view> headers = {}) {
    return http_request("GET", target, headers);
}
// One request on a new connection (from `from_ip` when given; `prefix`, e.g. a PROXY header, sent
// first), its final response; the connection is closed afterwards.
HttpResponse fetch(const Address& at, std::string_view raw_request, std::string_view from_ip = {},
                   std::string_view prefix = {}, std::chrono::milliseconds timeout = 5s);

// "PROXY TCP4 SRC 127.0.0.1 PORT 80\r\n" (TCP6 and ::1 for an IPv6 source).
std::string proxy_v1(std::string_view src_ip, std::uint16_t src_port = 40000);

// curl, never through an HTTP proxy from the environment: {"curl", "--noproxy", "*", "-sS", args...}.
RunResult curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 20s);
// http://127.0.0.1:PORT + path
std::string url(const Address& at, std::string_view path = "/");

}  // namespace skjold::test
