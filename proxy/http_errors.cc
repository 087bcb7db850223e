// Default pages and reason phrases as haproxy 2.6.12 sends them (captured on 127.0.0.1 from
// `http-request deny deny_status N` and `http-request return status N` for N = 200..599);
// connection handling as observed there: deny/return/redirect/monitor-uri keep an HTTP/1.1
// connection, close an HTTP/1.0 one unless it asked for keep-alive, and 400/408 always close.
#include "proxy/http_errors.hh"

#include <cstring>

#include "proxy/http_fetch.hh"

namespace skjold::proxy {

namespace {

struct Page {
    int status;
    std::string_view bytes;
};

constexpr Page kPages[] = {
    {200, "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"},
    {400, "HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "connection: close\r\n\r\n"
          "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"},
    {401, "HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n"
          "</body></html>\n"},
    {403, "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"},
    {404, "HTTP/1.1 404 Not Found\r\ncontent-length: 83\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n"},
    {405, "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 146\r\ncache-control: no-cache\r\n"
          "content-type: text/html\r\n\r\n"
          "<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method "
          "not supported by that resource\n</body></html>\n"},
    {407, "HTTP/1.1 407 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n"
          "</body></html>\n"},
    {408, "HTTP/1.1 408 Request Time-out\r\ncontent-length: 110\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "connection: close\r\n\r\n"
          "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n"
          "</body></html>\n"},
    {410, "HTTP/1.1 410 Gone\r\ncontent-length: 114\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n"
          "</body></html>\n"},
    {413, "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 106\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n"
          "</body></html>\n"},
    {425, "HTTP/1.1 425 Too Early\r\ncontent-length: 80\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n"},
    {429, "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n"
          "</body></html>\n"},
    {500, "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\n"
          "content-type: text/html\r\n\r\n"
          "<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"},
    {501, "HTTP/1.1 501 Not Implemented\r\ncontent-length: 136\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to "
          "fulfill the request.\n</body></html>\n"},
    {502, "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n"
          "</body></html>\n"},
    {503, "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\n"
          "content-type: text/html\r\n\r\n"
          "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n"
          "</body></html>\n"},
    {504, "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"},
};

struct Reason {
    int status;
    std::string_view text;
};

constexpr Reason kReasons[] = {
    {100, "Continue"}, {101, "Switching Protocols"}, {102, "Processing"},
    {200, "OK"}, {201, "Created"}, {202, "Accepted"}, {203, "Non-Authoritative Information"},
    {204, "No Content"}, {205, "Reset Content"}, {206, "Partial Content"}, {207, "Multi-Status"},
    {210, "Content Different"}, {226, "IM Used"},
    {300, "Multiple Choices"}, {301, "Moved Permanently"}, {302, "Moved Temporarily"}, {303, "See Other"},
    {304, "Not Modified"}, {305, "Use Proxy"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
    {310, "Too many Redirects"},
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
    {404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"}, {408, "Request Time-out"}, {409, "Conflict"}, {410, "Gone"},
    {411, "Length Required"}, {412, "Precondition Failed"}, {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"}, {415, "Unsupported Media Type"}, {416, "Requested range unsatisfiable"},
    {417, "Expectation failed"}, {418, "I'm a teapot"}, {421, "Misdirected Request"},
    {422, "Unprocessable Content"}, {423, "Locked"}, {424, "Method failure"}, {425, "Too Early"},
    {426, "Upgrade Required"}, {428, "Precondition Required"}, {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"}, {449, "Retry With"},
    {450, "Blocked by Windows Parental Controls"}, {451, "Unavailable For Legal Reasons"},
    {456, "Unrecoverable Error"}, {499, "client has closed connection"},
    {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway or Proxy Error"},
    {503, "Service Unavailable"}, {504, "Gateway Time-out"}, {505, "HTTP Version not supported"},
    {506, "Variant also negotiate"}, {507, "Insufficient storage"}, {508, "Loop detected"},
    {509, "Bandwidth Limit Exceeded"}, {510, "Not extended"}, {511, "Network authentication required"},
    {520, "Web server is returning an unknown error"},
};

constexpr std::string_view kClose = "connection: close\r\n";
constexpr std::string_view kKeepAlive = "connection: keep-alive\r\n";

bool iequal(std::string_view a, std::string_view b) noexcept { return HttpMessage::name_equals(a, b); }

// What a response head says about its own framing and connection.
struct HeadFacts {
    bool has_connection = false, connection_close = false, has_length = false, http10 = false;
};

HeadFacts inspect_head(std::string_view head) noexcept {
    HeadFacts f;
    f.http10 = head.starts_with("HTTP/1.0");
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        pos += 2;
        std::size_t eol = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view name = line.substr(0, colon);
            if (iequal(name, "content-length") || iequal(name, "transfer-encoding")) {
                f.has_length = true;
            } else if (iequal(name, "connection")) {
                f.has_connection = true;
                HeaderValueCursor cur(line.substr(colon + 1));
                std::string_view tok;
                while (cur.next(tok)) f.connection_close = f.connection_close || iequal(tok, "close");
            }
        }
        pos = eol;
    }
    return f;
}

}  // namespace

std::string_view reason_phrase(int status) noexcept {
    for (const auto& r : kReasons)
        if (r.status == status) return r.text;
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    if (status >= 500 && status < 600) return "Server Error";
    return "Other";
}

std::string_view default_error_response(int status) noexcept {
    const Page* fallback = nullptr;
    for (const auto& p : kPages) {
        if (p.status == status) return p.bytes;
        if (p.status == 500) fallback = &p;
    }
    return fallback->bytes;
}

std::string_view error_response(const conf::Proxy& px, int status) noexcept {
    if (!px.errorfiles.empty()) {
        auto it = px.errorfiles.find(status);
        if (it != px.errorfiles.end()) return it->second;
    }
    return default_error_response(status);
}

ConnReply connection_reply(const HttpMessage* req, const conf::Proxy& px) noexcept {
    if (px.http_conn_mode == conf::HttpConnMode::close) return {true, kClose};
    if (req == nullptr || req->empty()) return {};
    bool close = false, keep_alive = false;
    req->for_each("connection", [&](std::string_view line) noexcept {
        HeaderValueCursor cur(line);
        std::string_view tok;
        while (cur.next(tok)) {
            close = close || iequal(tok, "close");
            keep_alive = keep_alive || iequal(tok, "keep-alive");
        }
    });
    if (req->version() >= 11) return close ? ConnReply{true, kClose} : ConnReply{};
    return keep_alive && !close ? ConnReply{false, kKeepAlive} : ConnReply{true, kClose};
}

Reply write_reply(std::string_view response, const HttpMessage* req, const conf::Proxy& px, char* out,
                  std::size_t cap) noexcept {
    if (response.empty()) return {0, true};   // errorfile /dev/null: close without answering
    std::size_t end = response.find("\r\n\r\n");
    if (end == std::string_view::npos) {      // not a head we can extend: send as is, then close
        if (response.size() > cap) return {0, true};
        std::memcpy(out, response.data(), response.size());
        return {response.size(), true};
    }
    std::string_view head = response.substr(0, end + 2);   // through the last header's CRLF
    std::string_view body = response.substr(end + 4);
    HeadFacts facts = inspect_head(head);
    ConnReply conn = req != nullptr ? connection_reply(req, px) : ConnReply{};
    bool close = conn.close;
    std::string_view extra = conn.header;
    if (facts.has_connection) {
        close = close || facts.connection_close;
        extra = {};
    } else if (!facts.has_length) {
        close = true;            // no framing: the end of the connection ends the body
        extra = kClose;
    } else if (facts.http10 && !close && req != nullptr) {
        extra = kKeepAlive;      // an HTTP/1.0 errorfile keeps the connection only if it says so
    }
    if (req != nullptr && req->method() == "HEAD") body = {};
    std::size_t total = head.size() + extra.size() + 2 + body.size();
    if (total > cap) return {0, close};
    char* p = out;
    std::memcpy(p, head.data(), head.size());
    p += head.size();
    if (!extra.empty()) std::memcpy(p, extra.data(), extra.size());   // {}: data() is null (UB for memcpy)
    p += extra.size();
    std::memcpy(p, "\r\n", 2);
    p += 2;
    if (!body.empty()) std::memcpy(p, body.data(), body.size());
    return {total, close};
}

std::size_t announce_close(char* buf, std::size_t len, std::size_t cap) noexcept {
    std::string_view all(buf, len);
    std::size_t end = all.find("\r\n\r\n");
    std::size_t first = all.find("\r\n");
    if (end == std::string_view::npos || inspect_head(all.substr(0, end + 2)).has_connection) return len;
    constexpr std::string_view kLine = "connection: close\r\n";
    if (len + kLine.size() > cap) return len;
    char* at = buf + first + 2;
    std::memmove(at + kLine.size(), at, len - (first + 2));
    std::memcpy(at, kLine.data(), kLine.size());
    return len + kLine.size();
}

}  // namespace skjold::proxy
