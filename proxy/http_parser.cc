#include "proxy/http_parser.hh"

#include <string_view>

namespace skjold::proxy {

namespace {

using Part = HttpMessage::Part;

HttpParser& self(llhttp_t* p) noexcept { return *static_cast<HttpParser*>(p->data); }

int cb_method(llhttp_t* p, const char* at, std::size_t n) { return self(p).on_part(Part::method, at, n); }
int cb_url(llhttp_t* p, const char* at, std::size_t n) { return self(p).on_part(Part::uri, at, n); }
int cb_status(llhttp_t* p, const char* at, std::size_t n) { return self(p).on_part(Part::reason, at, n); }
int cb_field(llhttp_t* p, const char* at, std::size_t n) { return self(p).on_part(Part::header_name, at, n); }
int cb_value(llhttp_t* p, const char* at, std::size_t n) { return self(p).on_header_value(at, n); }
int cb_part_end(llhttp_t* p) { return self(p).on_part_end(); }
int cb_field_end(llhttp_t* p) { return self(p).on_header_field_end(); }
int cb_value_end(llhttp_t* p) { return self(p).on_header_value_end(); }
int cb_headers_complete(llhttp_t* p) { return self(p).on_headers_complete(); }
int cb_message_complete(llhttp_t* p) { return self(p).on_message_complete(); }

// Read-only after the first use; llhttp keeps a pointer to it.
const llhttp_settings_t& settings() noexcept {
    static const llhttp_settings_t s = [] {
        llhttp_settings_t x;
        llhttp_settings_init(&x);
        x.on_method = cb_method;
        x.on_url = cb_url;
        x.on_status = cb_status;
        x.on_header_field = cb_field;
        x.on_header_value = cb_value;
        x.on_method_complete = cb_part_end;
        x.on_url_complete = cb_part_end;
        x.on_status_complete = cb_part_end;
        x.on_header_field_complete = cb_field_end;
        x.on_header_value_complete = cb_value_end;
        x.on_headers_complete = cb_headers_complete;
        x.on_message_complete = cb_message_complete;
        return x;
    }();
    return s;
}

// RFC 9110 tchar.
constexpr bool is_tchar(unsigned char c) noexcept {
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// field-vchar / obs-text / SP / HTAB; everything else (CTL, DEL, and so NUL, CR, LF) is refused.
constexpr bool is_value_char(unsigned char c) noexcept { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool iequals(std::string_view a, std::string_view b) noexcept { return HttpMessage::name_equals(a, b); }

// True when the Transfer-Encoding list is exactly one final "chunked" (other codings before it
// are allowed, "chunked" twice or an empty element is not).
bool te_list_ok(std::string_view v) noexcept {
    bool chunked_seen = false;
    while (true) {
        std::size_t comma = v.find(',');
        std::string_view item = trim_ows(v.substr(0, comma));
        if (item.empty() || chunked_seen) return false;
        if (iequals(item, "chunked")) chunked_seen = true;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return chunked_seen;
}

}  // namespace

HttpParser::HttpParser(Type t) noexcept : type_(t) {
    llhttp_init(&p_, t == Type::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
    p_.data = this;
}

void HttpParser::start(HttpMessage* msg, std::uint32_t head_limit, bool no_body) noexcept {
    llhttp_reset(&p_);
    p_.data = this;
    msg_ = msg;
    if (msg_ != nullptr) msg_->set_request(type_ == Type::request);
    phase_ = Phase::head;
    body_ = Body::none;
    no_body_ = no_body;
    head_limit_ = head_limit;
    head_bytes_ = 0;
    header_lines_ = hosts_ = te_lines_ = 0;
    te_bad_ = false;
    cl_seen_ = false;
    first_cl_ = 0;
    value_open_ = false;
    feed_start_ = feed_end_ = prev_feed_end_ = value_end_ = nullptr;
    content_length_ = 0;
    status_ = 0;
    reason_ = "";
}

bool HttpParser::upgrade() const noexcept {
    return p_.upgrade != 0 && (type_ == Type::request || p_.status_code == 101);
}

int HttpParser::reject(int status, const char* reason) noexcept {
    status_ = status;
    reason_ = reason;
    return -1;
}

int HttpParser::on_part(HttpMessage::Part part, const char* at, std::size_t len) noexcept {
    if (phase_ != Phase::head) return 0;   // trailers: framed by llhttp, forwarded raw
    if (!msg_->append(part, {at, len}))
        return reject(type_ == Type::request ? 400 : 502, "head too large");
    return 0;
}

int HttpParser::on_part_end() noexcept {
    if (phase_ == Phase::head) msg_->end_part();
    return 0;
}

int HttpParser::on_header_field_end() noexcept {
    if (phase_ != Phase::head) return 0;
    const int bad = type_ == Type::request ? 400 : 502;
    // llhttp reports an empty name (": v") as a zero-length field.
    if (header_lines_ == msg_->header_slots() || msg_->header_name(msg_->header_slots() - 1).empty())
        return reject(bad, "empty header name");
    // HAProxy's tune.http.maxhdr counts the start line too: at most 100 header lines.
    header_lines_ = static_cast<std::uint32_t>(msg_->header_slots());
    if (header_lines_ > HttpMessage::kMaxHeaders - 1) return reject(bad, "too many headers");
    if ((p_.flags & F_CONTENT_LENGTH) && iequals(msg_->header_name(header_lines_ - 1), "content-length")) {
        // llhttp refuses any second Content-Length line; HAProxy accepts repeated equal values
        // (RFC 9112 8.6 allows either). Let llhttp parse this one as if first, then compare.
        p_.flags &= static_cast<std::uint16_t>(~F_CONTENT_LENGTH);
        p_.content_length = 0;   // llhttp accumulates digits into it
    }
    msg_->end_part();
    return 0;
}

int HttpParser::on_header_value(const char* at, std::size_t len) noexcept {
    if (phase_ != Phase::head) return 0;
    const int bad = type_ == Type::request ? 400 : 502;
    // llhttp reports an obs-fold continuation as a second piece of the same value. A piece
    // legitimately continues the value only when the previous one was cut by the end of the
    // previous feed and this one starts the new feed.
    if (value_open_ && !(at == feed_start_ && value_end_ == prev_feed_end_))
        return reject(bad, "obs-fold in a header value");
    for (std::size_t i = 0; i < len; ++i)
        if (!is_value_char(static_cast<unsigned char>(at[i]))) return reject(bad, "invalid character in a header value");
    value_open_ = true;
    value_end_ = at + len;
    if (!msg_->append(Part::header_value, {at, len}))
        return reject(type_ == Type::request ? 400 : 502, "head too large");
    return 0;
}

int HttpParser::on_header_value_end() noexcept {
    value_open_ = false;
    if (phase_ != Phase::head) return 0;
    std::size_t i = msg_->header_slots() - 1;
    std::string_view name = msg_->header_name(i);
    if (type_ == Type::request && iequals(name, "host")) {
        ++hosts_;
    } else if (iequals(name, "transfer-encoding")) {
        ++te_lines_;
        if (!te_list_ok(msg_->header_value(i))) te_bad_ = true;
    } else if (iequals(name, "content-length")) {
        if (cl_seen_ && p_.content_length != first_cl_)
            return reject(type_ == Type::request ? 400 : 502, "differing Content-Length");
        cl_seen_ = true;
        first_cl_ = p_.content_length;
    }
    msg_->end_part();
    return 0;
}

int HttpParser::on_headers_complete() noexcept {
    const int bad = type_ == Type::request ? 400 : 502;
    if (p_.http_major != 1 || p_.http_minor > 1) return reject(bad, "unsupported HTTP version");
    msg_->set_version(p_.http_minor == 0 ? 10 : 11);
    // llhttp takes "HTTP/1.1 2 X" as status 2: not three digits (HAProxy refuses it), and a
    // status under 100 would otherwise pass for an interim response.
    if (type_ == Type::response && (p_.status_code < 100 || p_.status_code > 999)) return reject(502, "invalid status code");
    if (type_ == Type::response) msg_->set_status(p_.status_code);
    const bool has_te = (p_.flags & F_TRANSFER_ENCODING) != 0;
    const bool has_cl = (p_.flags & F_CONTENT_LENGTH) != 0;
    if (has_te && has_cl) return reject(bad, "both Content-Length and Transfer-Encoding");
    if (type_ == Type::request) {
        if (hosts_ > 1) return reject(400, "more than one Host");
        if (has_te && (te_bad_ || te_lines_ != 1 || p_.http_minor == 0))
            return reject(400, "invalid Transfer-Encoding");
    }
    content_length_ = has_cl ? p_.content_length : 0;
    const int st = p_.status_code;
    if (type_ == Type::response && (no_body_ || st / 100 == 1 || st == 204 || st == 304)) {
        body_ = Body::none;
        p_.flags |= F_SKIPBODY;   // llhttp would otherwise read a 304's Content-Length as a body
    } else if (p_.flags & F_CHUNKED) {
        body_ = Body::chunked;
    } else if (has_te) {
        body_ = Body::until_close;   // responses only: requests were refused above
    } else if (has_cl) {
        body_ = content_length_ > 0 ? Body::length : Body::none;
    } else {
        body_ = type_ == Type::response ? Body::until_close : Body::none;
    }
    if (upgrade() && type_ == Type::response) body_ = Body::none;
    phase_ = Phase::body;
    return HPE_PAUSED;
}

int HttpParser::on_message_complete() noexcept {
    phase_ = Phase::done;
    // An upgrade ends in llhttp's own pause (HPE_PAUSED_UPGRADE) right after this callback.
    return p_.upgrade ? 0 : HPE_PAUSED;
}

HttpParser::Step HttpParser::fail(int status, const char* reason, std::size_t consumed) noexcept {
    phase_ = Phase::failed;
    status_ = status;
    reason_ = reason;
    return {Event::error, consumed};
}

int HttpParser::error_status(llhttp_errno_t e, std::uint32_t head_before, const char* data,
                             std::size_t len) const noexcept {
    if (type_ == Type::response) return 502;
    if (e == HPE_INVALID_METHOD && head_before == 0) {
        // A well-formed token llhttp does not know: not implemented rather than malformed.
        std::size_t i = 0;
        while (i < len && is_tchar(static_cast<unsigned char>(data[i]))) ++i;
        if (i > 0 && i < len && data[i] == ' ') return 501;
    }
    return 400;
}

HttpParser::Step HttpParser::feed(const char* data, std::size_t len) noexcept {
    if (phase_ == Phase::failed) return {Event::error, 0};
    if (phase_ == Phase::done) return {Event::message_done, 0};   // the next message needs start()
    llhttp_errno_t prev = llhttp_get_errno(&p_);
    if (prev == HPE_PAUSED) llhttp_resume(&p_);
    else if (prev == HPE_PAUSED_UPGRADE) return {Event::upgrade, 0};
    const bool was_head = phase_ == Phase::head;
    prev_feed_end_ = feed_end_;
    feed_start_ = data;
    feed_end_ = data + len;
    const std::uint32_t head_before = head_bytes_;
    llhttp_errno_t e = llhttp_execute(&p_, data, len);
    std::size_t consumed = len;
    if (e != HPE_OK) {
        const char* pos = llhttp_get_error_pos(&p_);
        if (pos != nullptr && pos >= data && pos <= data + len) consumed = static_cast<std::size_t>(pos - data);
    }
    if (was_head) {
        std::size_t head_part = consumed;
        if (head_bytes_ + head_part > head_limit_)
            return fail(type_ == Type::request ? 400 : 502, "head too large", consumed);
        head_bytes_ += static_cast<std::uint32_t>(head_part);
    }
    switch (e) {
    case HPE_OK: return {Event::need_more, consumed};
    case HPE_PAUSED:
        if (phase_ == Phase::done) return {Event::message_done, consumed};
        return {Event::head_done, consumed};
    case HPE_PAUSED_UPGRADE: phase_ = Phase::done; return {Event::upgrade, consumed};
    default: break;
    }
    if (status_ != 0) return fail(status_, reason_, consumed);   // one of our checks
    return fail(error_status(e, head_before, data, len), llhttp_get_error_reason(&p_), consumed);
}

HttpParser::Step HttpParser::finish() noexcept {
    if (phase_ == Phase::done) return {Event::message_done, 0};
    if (phase_ == Phase::body && body_ == Body::until_close) {
        phase_ = Phase::done;
        return {Event::message_done, 0};
    }
    return fail(type_ == Type::request ? 400 : 502, "connection closed inside a message", 0);
}

}  // namespace skjold::proxy
