#include "http_client.hh"

#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ostream>

namespace skjold::test {
namespace {

using Clock = std::chrono::steady_clock;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

std::string_view trim_ows(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// Bytes as a test failure message can show them: printable ASCII kept, the rest escaped.
std::string printable(std::string_view s, std::size_t max = 300) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Content-Length as RFC 9110 8.6 allows it: digits only.
std::optional<std::uint64_t> parse_length(std::string_view v) {
    if (v.empty() || v.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return n;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string> HttpHead::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

std::vector<std::string> HttpHead::header_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) out.push_back(v);
    return out;
}

std::size_t HttpHead::header_count(std::string_view name) const { return header_all(name).size(); }

bool HttpHead::has_token(std::string_view name, std::string_view token) const {
    for (const auto& v : header_all(name)) {
        std::string_view rest = v;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            if (iequals(trim_ows(rest.substr(0, comma)), token)) return true;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return false;
}

long parse_head(std::string_view in, bool request, HttpHead& out, std::string& error) {
    std::size_t skip = 0;
    while (in.substr(skip).starts_with("\r\n")) skip += 2;
    auto end = in.find("\r\n\r\n", skip);
    std::string_view head = in.substr(skip, end == std::string_view::npos ? std::string_view::npos : end + 4 - skip);
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) {
            error = "bare LF at byte " + std::to_string(skip + i);
            return -1;
        }
        if (head[i] == '\0') {
            error = "NUL at byte " + std::to_string(skip + i);
            return -1;
        }
    }
    if (end == std::string_view::npos) {
        if (in.size() > (1u << 20)) {
            error = "no end of head in 1 MiB";
            return -1;
        }
        return 0;
    }
    out = HttpHead{};
    out.raw = std::string(head);
    std::size_t pos = 0;
    bool first = true;
    while (pos < head.size()) {
        auto eol = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty()) break;
        if (line.find('\r') != std::string_view::npos) {
            error = "bare CR in line '" + printable(line) + "'";
            return -1;
        }
        if (first) {
            first = false;
            auto sp1 = line.find(' ');
            auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
            if (sp1 == std::string_view::npos || (request && sp2 == std::string_view::npos)) {
                error = "bad start line '" + printable(line) + "'";
                return -1;
            }
            out.start[0] = line.substr(0, sp1);
            out.start[1] = line.substr(sp1 + 1, sp2 == std::string_view::npos ? sp2 : sp2 - sp1 - 1);
            out.start[2] = sp2 == std::string_view::npos ? std::string() : std::string(line.substr(sp2 + 1));
            std::string_view version = request ? out.start[2] : out.start[0];
            if (version != "HTTP/1.1" && version != "HTTP/1.0") {
                error = "bad version in '" + printable(line) + "'";
                return -1;
            }
            if (request && (out.start[0].empty() || out.start[1].empty() ||
                            out.start[2].find(' ') != std::string::npos)) {
                error = "bad request line '" + printable(line) + "'";
                return -1;
            }
            if (!request && (out.start[1].size() != 3 || !std::isdigit(static_cast<unsigned char>(out.start[1][0])) ||
                             !std::isdigit(static_cast<unsigned char>(out.start[1][1])) ||
                             !std::isdigit(static_cast<unsigned char>(out.start[1][2])))) {
                error = "bad status line '" + printable(line) + "'";
                return -1;
            }
            continue;
        }
        auto colon = line.find(':');
        if (line[0] == ' ' || line[0] == '\t' || colon == std::string_view::npos || colon == 0) {
            error = "bad header line '" + printable(line) + "'";
            return -1;
        }
        std::string_view name = line.substr(0, colon);
        for (char c : name) {
            if (!is_tchar(c)) {
                error = "bad header name '" + printable(name) + "'";
                return -1;
            }
        }
        out.headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
    }
    return static_cast<long>(end + 4);
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, std::size_t& used, std::string& body) {
    used = 0;
    while (true) {
        switch (state_) {
            case State::size: {
                auto eol = in.find("\r\n", used);
                if (eol == std::string_view::npos) {
                    if (in.size() - used > 4096) break;
                    return Status::need_more;
                }
                std::string_view line = in.substr(used, eol - used);
                auto ext = line.find(';');
                std::string_view digits = trim_ows(line.substr(0, ext));
                std::uint64_t n = 0;
                auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
                if (digits.empty() || digits.size() > 15 || ec != std::errc() || p != digits.data() + digits.size()) break;
                used = eol + 2;
                left_ = n;
                state_ = n == 0 ? State::trailer : State::data;
                continue;
            }
            case State::data: {
                std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, in.size() - used));
                body.append(in.substr(used, take));
                used += take;
                left_ -= take;
                if (left_ > 0) return Status::need_more;
                state_ = State::data_crlf;
                continue;
            }
            case State::data_crlf:
                if (in.size() - used < 2) return Status::need_more;
                if (in.substr(used, 2) != "\r\n") break;
                used += 2;
                state_ = State::size;
                continue;
            case State::trailer: {
                auto eol = in.find("\r\n", used);
                if (eol == std::string_view::npos) return Status::need_more;
                std::string_view line = in.substr(used, eol - used);
                used = eol + 2;
                if (line.empty()) {
                    state_ = State::done;
                    return Status::done;
                }
                trailers_.append(line).append("\r\n");
                continue;
            }
            case State::done:
                return Status::done;
        }
        error_ = "bad chunk framing near '" + printable(in.substr(used, 40)) + "'";
        return Status::error;
    }
}

std::string chunk_body(std::string_view body, std::size_t chunk, std::string_view trailers) {
    std::string out;
    char size[32];
    for (std::size_t off = 0; off < body.size(); off += chunk) {
        auto piece = body.substr(off, chunk);
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        out.append(size).append(piece).append("\r\n");
    }
    out.append("0\r\n").append(trailers).append("\r\n");
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "(EVP_Digest failed)";
    std::string out;
    char buf[3];
    for (unsigned int i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", md[i]);
        out += buf;
    }
    return out;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "Unknown";
    }
}

std::ostream& operator<<(std::ostream& os, const HttpResponse& r) {
    if (!r.ok()) return os << "(no response: " << r.error << ")";
    return os << r.status << " (" << printable(r.head.raw, 400) << " + " << r.body.size() << " body bytes: '"
              << printable(r.body, 120) << "')";
}

HttpClient HttpClient::open(const Address& to, std::string_view from_ip, std::chrono::milliseconds timeout) {
    HttpClient c;
    c.conn_ = Connection::open(to, from_ip, timeout);
    return c;
}

bool HttpClient::fill(Clock::time_point deadline, std::string& why) {
    if (eof_ || !conn_.connected()) {
        why = "EOF";
        return false;
    }
    char buf[64 * 1024];
    while (true) {
        ssize_t n = recv(conn_.fd(), buf, sizeof buf, 0);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            eof_ = true;
            why = "EOF";
            return false;
        }
        if (errno != EAGAIN && errno != EINTR) {
            eof_ = true;
            why = std::string("reset (") + std::strerror(errno) + ")";
            return false;
        }
        pollfd p{conn_.fd(), POLLIN, 0};
        if (poll(&p, 1, ms_left(deadline)) == 0) {
            why = "timeout";
            return false;
        }
    }
}

HttpResponse HttpClient::read_response(bool head_request, std::chrono::milliseconds timeout) {
    HttpResponse r;
    const auto deadline = Clock::now() + timeout;
    std::string why, err;
    long n;
    while ((n = parse_head(in_, false, r.head, err)) == 0) {
        if (!fill(deadline, why)) {
            r.error = "no complete response head (" + why + "); got '" + printable(in_) + "'";
            return r;
        }
    }
    if (n < 0) {
        r.error = "not an HTTP response head: " + err + "; got '" + printable(in_) + "'";
        return r;
    }
    in_.erase(0, static_cast<std::size_t>(n));
    r.wire_bytes = static_cast<std::size_t>(n);
    r.status = std::stoi(r.head.start[1]);
    if (head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304) return r;
    auto cl = r.head.header_all("Content-Length");
    if (r.head.has_token("Transfer-Encoding", "chunked")) {
        r.chunked = true;
        ChunkedDecoder dec;
        while (true) {
            std::size_t used = 0;
            auto st = dec.feed(in_, used, r.body);
            in_.erase(0, used);
            r.wire_bytes += used;
            if (st == ChunkedDecoder::Status::done) break;
            if (st == ChunkedDecoder::Status::error) {
                r.error = dec.error();
                return r;
            }
            if (!fill(deadline, why)) {
                r.error = "chunked body cut short (" + why + ") after " + std::to_string(r.body.size()) + " bytes";
                return r;
            }
        }
        r.trailers = dec.trailers();
        return r;
    }
    if (!cl.empty() && r.head.header_all("Transfer-Encoding").empty()) {
        auto len = parse_length(cl[0]);
        for (const auto& v : cl) {
            if (!len || parse_length(v) != len) {
                r.error = "bad Content-Length in response: '" + printable(r.head.raw) + "'";
                return r;
            }
        }
        while (in_.size() < *len) {
            if (!fill(deadline, why)) {
                r.error = "body cut short (" + why + "): " + std::to_string(in_.size()) + " of " + std::to_string(*len);
                return r;
            }
        }
        r.body = in_.substr(0, *len);
        in_.erase(0, *len);
        r.wire_bytes += *len;
        return r;
    }
    r.until_close = true;
    while (fill(deadline, why)) {
    }
    if (why == "timeout") {
        r.error = "body without length did not end with the connection (timeout)";
        return r;
    }
    r.body = std::move(in_);
    in_.clear();
    r.wire_bytes += r.body.size();
    return r;
}

HttpResponse HttpClient::read_final(bool head_request, std::chrono::milliseconds timeout,
                                    std::vector<HttpResponse>* interim) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto r = read_response(head_request, std::max(left, std::chrono::milliseconds(1)));
        if (!r.ok() || r.status / 100 != 1 || r.status == 101) return r;
        if (interim) interim->push_back(std::move(r));
    }
}

HttpResponse HttpClient::roundtrip(std::string_view raw, bool head_request, std::chrono::milliseconds timeout) {
    if (!send(raw, timeout)) {
        HttpResponse r;
        r.error = "send failed: " + error();
        return r;
    }
    return read_final(head_request, timeout);
}

std::string HttpClient::read_raw(std::size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string why;
    while (in_.size() < n && fill(deadline, why)) {
    }
    std::string out = in_.substr(0, n);
    in_.erase(0, out.size());
    return out;
}

Received HttpClient::wait_close(std::chrono::milliseconds timeout) {
    Received r;
    r.data = std::move(in_);
    in_.clear();
    if (eof_) {
        r.end = Received::End::eof;
        return r;
    }
    auto rest = conn_.recv_all(timeout);
    r.data += rest.data;
    r.end = rest.end;
    r.elapsed = rest.elapsed;
    if (r.end != Received::End::timeout) eof_ = true;
    return r;
}

std::string http_request(std::string_view method, std::string_view target,
                         std::initializer_list<std::string_view> headers, std::string_view body) {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool host = false, framed = false;
    for (auto h : headers) {
        auto name = h.substr(0, h.find(':'));
        host = host || iequals(name, "Host");
        framed = framed || iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding");
    }
    if (!host) out += "Host: skjold.test\r\n";
    for (auto h : headers) out.append(h).append("\r\n");
    if (!body.empty() && !framed) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    out.append(body);
    return out;
}

HttpResponse fetch(const Address& at, std::string_view raw_request, std::string_view from_ip,
                   std::string_view prefix, std::chrono::milliseconds timeout) {
    auto c = HttpClient::open(at, from_ip);
    if (!c.connected()) {
        HttpResponse r;
        r.error = "connect: " + c.error();
        return r;
    }
    if (!prefix.empty() && !c.send(prefix)) {
        HttpResponse r;
        r.error = "send: " + c.error();
        return r;
    }
    return c.roundtrip(raw_request, raw_request.starts_with("HEAD "), timeout);
}

std::string proxy_v1(std::string_view src_ip, std::uint16_t src_port) {
    bool v6 = src_ip.find(':') != std::string_view::npos;
    return std::string("PROXY ") + (v6 ? "TCP6 " : "TCP4 ") + std::string(src_ip) + (v6 ? " ::1 " : " 127.0.0.1 ") +
           std::to_string(src_port) + " 80\r\n";
}

RunResult curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{"curl", "--noproxy", "*", "-sS"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout);
}

std::string url(const Address& at, std::string_view path) { return "http://" + at.to_string() + std::string(path); }

}  // namespace skjold::test
