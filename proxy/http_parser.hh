#pragma once
// HTTP/1.x message framing on llhttp (built with LLHTTP_STRICT_MODE, no lenient flag), plus the
// checks llhttp leaves to its user. Owner: one session (one parser per direction).
//
// One message at a time: start() begins a message; feed() is given the bytes in order. While in
// the head, the tokens are copied into the HttpMessage; feed() stops right after the head
// (head_done) so that nothing is forwarded before the head is complete and valid, and again
// right after the message end (message_done), so that a pipelined next message stays unparsed
// until the caller is ready. Body bytes are only framed (chunk sizes, lengths), never copied:
// the caller forwards the bytes feed() consumed as they are.
//
// Rejected (error(), status 400 for requests; 502 for responses), beyond what llhttp refuses:
// more than kMaxHeaders-1 header lines, a head over the caller's limit, CTL/DEL/NUL/CR/LF in a
// header value (bare CR/LF and obs-fold), versions other than 1.0/1.1, Content-Length lines with
// differing values (equal repeated ones are accepted, as HAProxy does), Content-Length together
// with Transfer-Encoding, a Transfer-Encoding that is not exactly one final `chunked` (requests;
// any Transfer-Encoding in an HTTP/1.0 request), more than one Host line. A method that is a
// valid token but unknown to llhttp gets 501.

#include <cstddef>
#include <cstdint>

#include <llhttp.h>

#include "proxy/http_message.hh"

namespace skjold::proxy {

class HttpParser {
public:
    enum class Type : std::uint8_t { request, response };
    enum class Event : std::uint8_t {
        need_more,      // every byte consumed, no boundary reached
        head_done,      // the head ended after `consumed` bytes; the message is filled
        message_done,   // the message (head and body) ended after `consumed` bytes
        upgrade,        // message done, and what follows on this connection is another protocol
        error,          // see status() and reason()
    };
    struct Step {
        Event event;
        std::size_t consumed;
    };
    enum class Body : std::uint8_t { none, length, chunked, until_close };

    explicit HttpParser(Type t) noexcept;
    HttpParser(const HttpParser&) = delete;
    HttpParser& operator=(const HttpParser&) = delete;

    // A new message. Its head goes into `msg` (reset by the caller over its storage);
    // `head_limit`: most head bytes accepted (tune.bufsize minus the rewrite reserve).
    // `no_body`: the response to a HEAD request (responses only).
    void start(HttpMessage* msg, std::uint32_t head_limit, bool no_body = false) noexcept;
    Step feed(const char* data, std::size_t len) noexcept;
    // The peer closed: ends an until-close body (message_done), else error.
    Step finish() noexcept;

    bool in_head() const noexcept { return phase_ == Phase::head; }
    bool in_body() const noexcept { return phase_ == Phase::body; }
    bool done() const noexcept { return phase_ == Phase::done; }
    std::uint32_t head_bytes() const noexcept { return head_bytes_; }

    // Valid after head_done.
    Body body() const noexcept { return body_; }
    std::uint64_t content_length() const noexcept { return content_length_; }
    bool upgrade() const noexcept;          // request asks to upgrade / 101 response
    bool is_head_method() const noexcept { return p_.method == HTTP_HEAD; }

    // After an error.
    int status() const noexcept { return status_; }
    const char* reason() const noexcept { return reason_; }

    // llhttp callbacks (static trampolines reach the parser through llhttp_t::data).
    int on_part(HttpMessage::Part part, const char* at, std::size_t len) noexcept;
    int on_part_end() noexcept;
    int on_header_field_end() noexcept;
    int on_header_value(const char* at, std::size_t len) noexcept;
    int on_header_value_end() noexcept;
    int on_headers_complete() noexcept;
    int on_message_complete() noexcept;

private:
    enum class Phase : std::uint8_t { head, body, done, failed };
    Step fail(int status, const char* reason, std::size_t consumed) noexcept;
    int reject(int status, const char* reason) noexcept;   // from a callback
    int error_status(llhttp_errno_t e, std::uint32_t head_before, const char* data, std::size_t len) const noexcept;

    llhttp_t p_{};
    HttpMessage* msg_ = nullptr;
    Type type_;
    Phase phase_ = Phase::head;
    Body body_ = Body::none;
    bool no_body_ = false;
    std::uint32_t head_limit_ = 0, head_bytes_ = 0;
    std::uint32_t header_lines_ = 0;
    std::uint32_t hosts_ = 0;
    std::uint32_t te_lines_ = 0;
    bool te_bad_ = false;      // a Transfer-Encoding list other than exactly "chunked"
    bool value_open_ = false;  // a header value has pieces and has not ended yet
    bool cl_seen_ = false;     // a Content-Length line was parsed (first_cl_ is its value)
    std::uint64_t first_cl_ = 0;
    const char* feed_start_ = nullptr;     // the current feed() data (obs-fold detection)
    const char* feed_end_ = nullptr;
    const char* prev_feed_end_ = nullptr;
    const char* value_end_ = nullptr;      // end of the last value piece
    std::uint64_t content_length_ = 0;
    int status_ = 0;
    const char* reason_ = "";
};

}  // namespace skjold::proxy
