#include "health/http_check.hh"

#include <cstdint>
#include <strings.h>

namespace skjold::health {

namespace {

using namespace std::string_view_literals;

bool parse_code(std::string_view s, int& out) noexcept {
    if (s.empty() || s.size() > 3) return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

// "200", "200-399", "200,302,400-404" (conf/ validated the grammar already).
bool parse_status_list(std::string_view s, std::vector<std::pair<int, int>>& out) {
    while (!s.empty()) {
        const std::size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        const std::size_t dash = item.find('-');
        int lo = 0, hi = 0;
        if (!parse_code(item.substr(0, dash), lo)) return false;
        hi = lo;
        if (dash != std::string_view::npos && !parse_code(item.substr(dash + 1), hi)) return false;
        if (hi < lo) return false;
        out.emplace_back(lo, hi);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return !out.empty();
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Offset just past the empty line that ends the header block (CRLF or bare LF line ends, as
// HAProxy's H1 parser accepts both), or npos.
std::size_t header_end(std::string_view r) noexcept {
    for (std::size_t i = r.find('\n'); i != std::string_view::npos; i = r.find('\n', i + 1)) {
        if (i + 1 < r.size() && r[i + 1] == '\n') return i + 2;
        if (i + 2 < r.size() && r[i + 1] == '\r' && r[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

struct StatusLine {
    int code = 0;
    std::string_view code_text, reason;
};

// "HTTP/1.1 503 Service Unavailable" (the reason may be empty or absent).
bool parse_status_line(std::string_view line, StatusLine& out) noexcept {
    line = trim(line);
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/"sv) return false;
    if (line[5] < '0' || line[5] > '9' || line[6] != '.' || line[7] < '0' || line[7] > '9' || line[8] != ' ')
        return false;
    out.code_text = line.substr(9, 3);
    if (!parse_code(out.code_text, out.code) || out.code < 100) return false;
    if (line.size() > 12 && line[12] != ' ') return false;
    out.reason = line.size() > 13 ? trim(line.substr(13)) : std::string_view{};
    return true;
}

struct BodyFraming {
    bool chunked = false;
    bool has_length = false;
    std::uint64_t length = 0;
};

BodyFraming read_framing(std::string_view headers) noexcept {
    BodyFraming f;
    while (!headers.empty()) {
        const std::size_t nl = headers.find('\n');
        std::string_view line = headers.substr(0, nl);
        headers = nl == std::string_view::npos ? std::string_view{} : headers.substr(nl + 1);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = trim(line.substr(0, colon));
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Length")) {
            std::uint64_t v = 0;
            bool ok = !value.empty();
            for (char c : value) {
                if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) { ok = false; break; }
                v = v * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (ok) {
                f.has_length = true;
                f.length = v;
            }
        } else if (iequals(name, "Transfer-Encoding")) {
            f.chunked = true;
        }
    }
    return f;
}

constexpr std::string_view kNoBody = "HTTP content check could not find a response body";
constexpr std::string_view kNoMatch = "HTTP content check did not match";

}  // namespace

void HttpCheck::RegexFree::operator()(regex_t* r) const noexcept {
    regfree(r);
    delete r;
}

core::Result<std::unique_ptr<HttpCheck>> HttpCheck::compile(const conf::HttpCheck& c) {
    std::unique_ptr<HttpCheck> h(new HttpCheck());
    h->request_ = c.method + " " + c.uri + " " + c.version + "\r\n";
    bool connection_given = false;
    for (const auto& [name, value] : c.headers) {
        h->request_ += name + ": " + value + "\r\n";
        if (iequals(name, "Connection")) connection_given = true;
    }
    if (!connection_given) h->request_ += "Connection: close\r\n";
    h->request_ += "\r\n";

    h->expect_ = c.expect;
    switch (c.expect) {
    case conf::HttpCheck::Expect::none:
        h->codes_.emplace_back(200, 399);   // HAProxy's implicit "http-check expect status 200-399"
        break;
    case conf::HttpCheck::Expect::status:
        if (!parse_status_list(c.expect_arg, h->codes_))
            return core::fail(core::Errc::invalid_argument, "http-check expect status: bad list '" + c.expect_arg + "'");
        break;
    case conf::HttpCheck::Expect::rstatus: {
        std::unique_ptr<regex_t, RegexFree> re(new regex_t);
        if (regcomp(re.get(), c.expect_arg.c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
            delete re.release();   // regcomp failed: nothing to regfree
            return core::fail(core::Errc::invalid_argument, "http-check expect rstatus: bad regex '" + c.expect_arg + "'");
        }
        h->regex_ = std::move(re);
        break;
    }
    case conf::HttpCheck::Expect::string:
        h->needle_ = c.expect_arg;
        break;
    }
    return h;
}

HttpVerdict HttpCheck::judge(std::string_view r, bool last_read) const noexcept {
    HttpVerdict v;
    // Not HTTP at all: no need to wait for more.
    const std::size_t pfx = r.size() < 5 ? r.size() : 5;
    if (r.substr(0, pfx) != "HTTP/"sv.substr(0, pfx)) {
        v.done = true;
        v.status = CheckStatus::l7rsp;
        return v;
    }
    const std::size_t end = header_end(r);
    if (end == std::string_view::npos) {
        if (last_read) {
            v.done = true;
            v.status = CheckStatus::l7rsp;
        }
        return v;
    }
    StatusLine sl;
    if (!parse_status_line(r.substr(0, r.find('\n')), sl)) {
        v.done = true;
        v.status = CheckStatus::l7rsp;
        return v;
    }
    v.code = sl.code;

    switch (expect_) {
    case conf::HttpCheck::Expect::none:
    case conf::HttpCheck::Expect::status:
    case conf::HttpCheck::Expect::rstatus: {
        bool match = false;
        if (regex_) {
            char text[4] = {sl.code_text[0], sl.code_text[1], sl.code_text[2], '\0'};
            match = regexec(regex_.get(), text, 0, nullptr, 0) == 0;
        } else {
            for (const auto& [lo, hi] : codes_)
                if (sl.code >= lo && sl.code <= hi) match = true;
        }
        v.done = true;
        v.status = match ? CheckStatus::l7ok : CheckStatus::l7sts;
        if (!match) v.desc = sl.reason;
        return v;
    }
    case conf::HttpCheck::Expect::string: {
        const std::size_t status_end = r.find('\n') + 1;
        const BodyFraming f = read_framing(r.substr(status_end, end - status_end));
        std::string_view body = r.substr(end);
        bool complete = last_read;
        if (!f.chunked && f.has_length) {
            if (body.size() >= f.length) {
                body = body.substr(0, static_cast<std::size_t>(f.length));
                complete = true;
            }
        }
        // Chunked bodies are searched as received (chunk sizes included): HAProxy de-chunks
        // first; a needle split by a chunk boundary is the one case that differs.
        if (!body.empty() && body.find(needle_) != std::string_view::npos) {
            v.done = true;
            v.status = CheckStatus::l7ok;
            return v;
        }
        if (!complete) return v;
        v.done = true;
        v.status = CheckStatus::l7rsp;
        v.desc = body.empty() ? kNoBody : kNoMatch;
        return v;
    }
    }
    return v;
}

}  // namespace skjold::health
