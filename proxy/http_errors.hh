#pragma once
// Responses skjold makes itself: HAProxy's default error pages, `errorfile` overrides, and the
// copy of such a response to the client with the connection header HAProxy would add.
// Owner: http-rules. Pages are static (defaults) or read at load (errorfile, in the Snapshot);
// nothing here allocates, throws or locks.

#include <cstddef>
#include <string_view>

#include "conf/snapshot_types.hh"
#include "proxy/http_message.hh"

namespace skjold::proxy {

// HAProxy 2.6's reason phrase for a status (http_get_reason(); "Moved Temporarily" for 302 as
// `http-request return` sends it; class names such as "Client Error" for unlisted codes).
std::string_view reason_phrase(int status) noexcept;

// HAProxy 2.6's default page for `status`, byte for byte as haproxy 2.6 puts it on the wire
// (lower-case header names, content-length first). Codes with a page: 200 400 401 403 404 405
// 407 408 410 413 425 429 500 501 502 503 504; any other code gets the 500 page, as HAProxy's
// http_get_status_idx() does (HAProxy 2.6 has no 431 page: it answers 400 to an oversized head).
std::string_view default_error_response(int status) noexcept;

// The errorfile of `px` for `status` if it has one (possibly empty: close without answering),
// else the default page.
std::string_view error_response(const conf::Proxy& px, int status) noexcept;

// Whether the answer to `req` must close the client connection, and the connection header that
// says so, as HAProxy 2.6 does for answers it makes itself: HTTP/1.1 keeps the connection unless
// the request's Connection has `close`; HTTP/1.0 closes unless it has `keep-alive` (then
// "connection: keep-alive" is sent); `option httpclose` on `px` always closes.
struct ConnReply {
    bool close = false;
    std::string_view header;   // "connection: close\r\n", "connection: keep-alive\r\n" or ""
};
ConnReply connection_reply(const HttpMessage* req, const conf::Proxy& px) noexcept;

// What was written to the client buffer.
struct Reply {
    std::size_t len = 0;       // 0: it did not fit (or `response` is empty: close without answer)
    bool close = false;        // close the client connection once sent
};

// Copies a complete response (head + body: a default page or an errorfile) to out[0..cap),
// adding the connection header of connection_reply() at the end of the head unless the response
// has its own Connection header, and leaving out the body for a HEAD request. A response that
// closes by itself (400, 408, an errorfile with `Connection: close` or without Content-Length)
// closes. `req` may be null (no request parsed yet: nothing is added).
Reply write_reply(std::string_view response, const HttpMessage* req, const conf::Proxy& px, char* out,
                  std::size_t cap) noexcept;

// A local reply about to end its connection although it was written to keep it (a generation
// retired by a reload answers one more request, then closes): puts "connection: close" after the
// status line of the response in buf[0..len), within cap, so the client knows. Returns the new
// length; len unchanged when the head already has a Connection header, is not a complete head,
// or the header does not fit.
std::size_t announce_close(char* buf, std::size_t len, std::size_t cap) noexcept;

}  // namespace skjold::proxy
