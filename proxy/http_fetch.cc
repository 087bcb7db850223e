// HTTP sample fetches, following HAProxy 2.6's http_fetch.c as observed with haproxy 2.6.12 on
// 127.0.0.1: header values split at commas outside quotes and are trimmed; hdr_cnt counts those
// values (hdr_cnt() of every header); hdr(NAME,OCC) counts values, not lines.
#include "proxy/http_fetch.hh"

namespace skjold::proxy {

namespace {

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view v) noexcept {
    while (!v.empty() && is_ows(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
    return v;
}

bool string_sample(std::string_view v, Sample& out) noexcept {
    out.type = conf::SampleType::str;
    out.s = v;
    return true;
}

// Calls f(value) for every value of every live line named `name` (every line when empty) until
// f returns false.
template <class F>
void walk_values(const HttpMessage& msg, std::string_view name, F&& f) noexcept {
    for (std::size_t i = 0; i < msg.header_slots(); ++i) {
        if (msg.header_deleted(i)) continue;
        if (!name.empty() && !HttpMessage::name_equals(msg.header_name(i), name)) continue;
        HeaderValueCursor cur(msg.header_value(i));
        std::string_view v;
        while (cur.next(v))
            if (!f(v)) return;
    }
}

}  // namespace

bool HeaderValueCursor::next(std::string_view& value) noexcept {
    if (done_) return false;
    bool quoted = false, escaped = false;
    std::size_t end = 0;
    for (; end < rest_.size(); ++end) {
        char c = rest_[end];
        if (escaped) escaped = false;
        else if (quoted && c == '\\') escaped = true;
        else if (c == '"') quoted = !quoted;
        else if (!quoted && c == ',') break;
    }
    value = trim(rest_.substr(0, end));
    if (end >= rest_.size()) done_ = true;
    else rest_.remove_prefix(end + 1);
    return true;
}

std::size_t count_header_values(const HttpMessage& msg, std::string_view name) noexcept {
    std::size_t n = 0;
    walk_values(msg, name, [&n](std::string_view) noexcept { ++n; return true; });
    return n;
}

bool nth_header_value(const HttpMessage& msg, std::string_view name, std::size_t n, std::string_view& out) noexcept {
    if (name.empty()) return false;
    std::size_t k = 0;
    bool found = false;
    walk_values(msg, name, [&](std::string_view v) noexcept {
        if (k++ != n) return true;
        out = v;
        found = true;
        return false;
    });
    return found;
}

bool is_http_fetch(const conf::FetchCall& f) noexcept {
    switch (f.id) {
    case conf::FetchId::hdr:
    case conf::FetchId::req_hdr:
    case conf::FetchId::hdr_cnt:
    case conf::FetchId::path:
    case conf::FetchId::url:
    case conf::FetchId::method: return true;
    default: return false;
    }
}

bool fetch_http(const conf::FetchCall& f, const HttpMessage* msg, std::size_t index, Sample& out) noexcept {
    if (msg == nullptr || msg->empty()) return false;
    switch (f.id) {
    case conf::FetchId::hdr:
    case conf::FetchId::req_hdr: {
        std::string_view v;
        if (f.occ == 0) return nth_header_value(*msg, f.arg, index, v) && string_sample(v, out);
        if (index != 0) return false;
        std::size_t n;
        if (f.occ > 0) {
            n = static_cast<std::size_t>(f.occ) - 1;
        } else {
            std::size_t total = count_header_values(*msg, f.arg);
            auto back = static_cast<std::size_t>(-static_cast<std::int64_t>(f.occ));
            if (back > total) return false;
            n = total - back;
        }
        return nth_header_value(*msg, f.arg, n, v) && string_sample(v, out);
    }
    case conf::FetchId::hdr_cnt:
        if (index != 0) return false;
        out.type = conf::SampleType::integer;
        out.i = static_cast<std::int64_t>(count_header_values(*msg, f.arg));
        return true;
    case conf::FetchId::path:
        if (index != 0 || !msg->is_request() || msg->uri() == "*") return false;
        return string_sample(msg->path(), out);
    case conf::FetchId::url:
        if (index != 0 || !msg->is_request()) return false;
        return string_sample(msg->uri(), out);
    case conf::FetchId::method:
        if (index != 0 || !msg->is_request()) return false;
        return string_sample(msg->method(), out);
    default: return false;
    }
}

std::string_view path_and_query(std::string_view uri) noexcept {
    if (uri.empty() || uri == "*") return {};
    if (uri.front() == '/') return uri;
    std::size_t scheme = uri.find("://");
    if (scheme == std::string_view::npos) return uri;   // authority-form (CONNECT): as written
    std::size_t start = uri.find('/', scheme + 3);
    if (start == std::string_view::npos) return "/";
    return uri.substr(start);
}

}  // namespace skjold::proxy
