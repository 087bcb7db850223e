#pragma once
// An in-process HTTP/1.1 server on 127.0.0.1:0 standing in for skjold's backends. One thread runs a
// poll() loop over all its connections (like TcpServer); what it answers is decided per request by a
// Handler, which runs on that thread. It records every request it parsed (raw head included) and
// counts connections and bytes, so a test can assert what the server saw, and that it never saw
// something. The test thread constructs it, reads it, and destroys it (which stops and joins).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "address.hh"
#include "http_client.hh"

namespace skjold::test {

// One request as the backend received it.
struct SeenRequest {
    std::uint64_t connection = 0;   // the connection it came on: 1 for the first one accepted, ...
    std::uint64_t nth = 0;          // 1 for the first request on that connection
    HttpHead head;                  // raw bytes and the parsed request line and headers
    std::string body;               // de-chunked
    bool chunked = false;
    std::string trailers;

    const std::string& method() const { return head.start[0]; }
    const std::string& target() const { return head.start[1]; }
    std::string path() const { return target().substr(0, target().find('?')); }
    std::optional<std::string> header(std::string_view name) const { return head.header(name); }
    std::vector<std::string> header_all(std::string_view name) const { return head.header_all(name); }
};

// What the backend does with one request.
struct Reply {
    enum class Action : std::uint8_t {
        respond,  // status, headers, body framed as `framing` says
        raw,      // send `raw` verbatim (malformed responses), then close if `close`
        hang,     // never answer; keep reading and discarding (504 tests)
        abort,    // close the connection without a byte (502 tests)
    };
    // length: Content-Length; chunked: Transfer-Encoding: chunked in `chunk`-byte pieces;
    // until_close: no framing header, the body ends with the connection (forces close);
    // none: neither header nor body (HEAD, 204, 304: add any Content-Length in `headers` yourself).
    enum class Framing : std::uint8_t { length, chunked, until_close, none };

    Action action = Action::respond;
    int status = 200;
    Headers headers;
    std::string body;
    Framing framing = Framing::length;
    std::size_t chunk = 1000;
    std::string trailers;            // chunked: "Name: value\r\n" lines after the last chunk
    bool close = false;              // close after this response, saying `Connection: close`
    bool silent_close = false;       // close after this response without saying so
    bool tunnel = false;             // after the response, echo every byte raw (101 upgrades)
    std::chrono::milliseconds delay{0};  // wait this long before answering
    std::string raw;

    static Reply text(std::string body, int status = 200);
    static Reply raw_bytes(std::string bytes, bool close_after = true);
    static Reply hang();
    static Reply abort();
};

class HttpBackend {
public:
    using Handler = std::function<Reply(const SeenRequest&)>;

    // Answers every request with 200 and `name` as a text/plain body, so a test sees WHICH server answered.
    explicit HttpBackend(std::string name);
    // Answers with whatever `handler` returns (it runs on the backend's thread).
    explicit HttpBackend(Handler handler);
    ~HttpBackend();
    HttpBackend(const HttpBackend&) = delete;
    HttpBackend& operator=(const HttpBackend&) = delete;

    // Answer `Expect: 100-continue` with an interim 100 before reading the body (default on).
    void set_send_continue(bool on) noexcept { send_continue_ = on; }

    const Address& address() const noexcept { return address_; }
    std::string addr() const { return address_.to_string(); }
    std::uint64_t accepted() const noexcept { return accepted_.load(); }        // connections so far
    std::uint64_t requests() const noexcept { return requests_.load(); }        // complete requests parsed
    std::uint64_t open_connections() const noexcept { return open_.load(); }
    std::uint64_t bytes_received() const noexcept { return bytes_in_.load(); }
    std::uint64_t malformed() const noexcept { return malformed_.load(); }      // heads it could not parse
    std::vector<SeenRequest> seen() const;                                      // every request, in order
    SeenRequest last() const;                                                   // the latest ({} if none)
    // Waits until `n` requests have been seen; false on timeout.
    bool wait_requests(std::uint64_t n, std::chrono::milliseconds timeout = 5s) const;

private:
    struct Conn;
    void run() noexcept;
    void on_readable(Conn& c, std::chrono::steady_clock::time_point now);
    void start_reply(Conn& c, Reply reply, std::chrono::steady_clock::time_point now);
    void queue_reply(Conn& c);

    Handler handler_;
    bool send_continue_ = true;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // eventfd: the destructor writes it to end run()
    Address address_;
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> open_{0};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::atomic<std::uint64_t> malformed_{0};
    mutable std::mutex seen_mutex_;  // test code, not the data path: the test thread reads `seen_`
    std::vector<SeenRequest> seen_;
    std::thread thread_;
};

// The defaults the HTTP tests share: http mode and timeouts that end a stuck test in seconds.
inline constexpr std::string_view kHttpDefaults =
    "defaults\n"
    "    mode http\n"
    "    timeout connect 1s\n"
    "    timeout client 10s\n"
    "    timeout server 10s\n";

// `global` (with `nbthread N` when N > 0), kHttpDefaults, then
// "listen fe / bind 127.0.0.1:0 / <extra lines> / server s1 <server>": the config most tests start from.
std::string http_listen_config(const HttpBackend& server, std::string_view extra = {}, int nbthread = 0);

// Handlers most tests need.
// 200 with the request head the backend received as the body (so a test can read what skjold forwarded).
Reply echo_head(const SeenRequest& r);
// 200 with the request body as the body.
Reply echo_body(const SeenRequest& r);
// 200 with the path as the body.
Reply echo_path(const SeenRequest& r);

}  // namespace skjold::test
