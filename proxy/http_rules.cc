// http-request / http-response rules, forwardfor and monitor-uri. The responses and connection
// handling follow what haproxy 2.6.12 sends (observed on 127.0.0.1): see http_rules.hh and
// http_errors.cc. Missing samples in log-format values render as nothing (HAProxy 2.6 sends
// `x-miss: ` for `set-header X-Miss %[req.hdr(absent)]`).
#include "proxy/http_rules.hh"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string_view>

#include "proxy/http_errors.hh"
#include "proxy/http_fetch.hh"

namespace skjold::proxy {

namespace {

// Rendered log-format values. One per thread: a rule renders and uses its value before the next.
thread_local char t_value[kMaxRenderedValue];

// Appends to a fixed buffer; once something does not fit, everything after is refused.
class Writer {
public:
    Writer(char* out, std::size_t cap) noexcept : out_(out), cap_(cap) {}
    Writer& put(std::string_view s) noexcept {
        if (!ok_ || s.size() > cap_ - len_) {
            ok_ = false;
        } else if (!s.empty()) {
            std::memcpy(out_ + len_, s.data(), s.size());
            len_ += s.size();
        }
        return *this;
    }
    Writer& put_int(std::size_t v) noexcept {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        return put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    }
    bool ok() const noexcept { return ok_; }
    std::size_t size() const noexcept { return len_; }

private:
    char* out_;
    std::size_t cap_, len_ = 0;
    bool ok_ = true;
};

// A rule's value: as written, or its log-format rendered into t_value.
bool render(const conf::Rule& r, FetchContext& ctx, std::string_view& out) noexcept {
    if (r.value_format.empty()) {
        out = r.value;
        return true;
    }
    Writer w(t_value, sizeof t_value);
    for (const auto& part : r.value_format) {
        if (!part.is_sample) {
            w.put(part.literal);
            continue;
        }
        std::string_view s;
        if (fetch_string(part.fetch, part.converters, ctx, s)) w.put(s);
    }
    if (!w.ok()) return false;
    out = std::string_view(t_value, w.size());
    return true;
}

// set-header / add-header / del-header on `msg`. false: the value or the storage overflowed.
// Other actions are not header edits: true, nothing done.
bool apply_header_rule(const conf::Rule& r, HttpMessage& msg, FetchContext& ctx) noexcept {
    using A = conf::Rule::Action;
    if (r.action == A::del_header) {
        msg.del_header(r.name);
        return true;
    }
    if (r.action != A::set_header && r.action != A::add_header) return true;
    std::string_view v;
    if (!render(r, ctx, v)) return false;
    return r.action == A::set_header ? msg.set_header(r.name, v) : msg.add_header(r.name, v);
}

RuleVerdict failed() noexcept { return RuleVerdict{RuleVerdict::Kind::rewrite_failed, 500, 0, true}; }

RuleVerdict deny(const conf::Proxy& px, const conf::Rule& r, const HttpMessage& req, char* out, std::size_t cap) noexcept {
    std::string_view page = error_response(px, r.status);
    Reply rep = write_reply(page, &req, px, out, cap);
    if (rep.len == 0 && !page.empty()) return failed();
    return RuleVerdict{RuleVerdict::Kind::deny, r.status, rep.len, rep.close};
}

RuleVerdict do_return(const conf::Proxy& px, const conf::Rule& r, const HttpMessage& req, char* out,
                      std::size_t cap) noexcept {
    const int st = r.status;
    const bool bodyless = st == 204 || st == 304 || req.method() == "HEAD";
    ConnReply conn = connection_reply(&req, px);
    Writer w(out, cap);
    w.put("HTTP/1.1 ").put_int(static_cast<std::size_t>(st)).put(" ").put(reason_phrase(st)).put("\r\n");
    if (st != 204) w.put("content-length: ").put_int(st == 304 ? 0 : r.body.size()).put("\r\n");
    if (!r.content_type.empty()) w.put("content-type: ").put(r.content_type).put("\r\n");
    w.put(conn.header).put("\r\n");
    if (!bodyless) w.put(r.body);
    if (!w.ok()) return failed();
    return RuleVerdict{RuleVerdict::Kind::respond, st, w.size(), conn.close};
}

std::string_view redirect_reason(int code) noexcept {
    switch (code) {
    case 301: return "Moved Permanently";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    default: return "Found";
    }
}

RuleVerdict redirect(const conf::Proxy& px, const conf::Rule& r, const HttpMessage& req, FetchContext& ctx, char* out,
                     std::size_t cap) noexcept {
    std::string_view target;
    if (!render(r, ctx, target)) return failed();
    const int code = r.status == 0 ? 302 : r.status;
    std::string_view pq = path_and_query(req.uri());
    if (pq.empty()) pq = "/";
    ConnReply conn = connection_reply(&req, px);
    Writer w(out, cap);
    w.put("HTTP/1.1 ").put_int(static_cast<std::size_t>(code)).put(" ").put(redirect_reason(code));
    w.put("\r\ncontent-length: 0\r\nlocation: ");
    switch (r.redirect) {
    case conf::Rule::RedirectKind::location: w.put(target); break;
    case conf::Rule::RedirectKind::prefix:
        if (target != "/") w.put(target);   // "prefix /" redirects to the same path (HAProxy)
        w.put(pq);
        break;
    case conf::Rule::RedirectKind::scheme:
        w.put(target).put("://").put(req.find("host").value_or(std::string_view{})).put(pq);
        break;
    }
    w.put("\r\n");
    if (code == 302 || code == 303 || code == 307) w.put("cache-control: no-cache\r\n");
    w.put(conn.header).put("\r\n");
    if (!w.ok()) return failed();
    return RuleVerdict{RuleVerdict::Kind::respond, code, w.size(), conn.close};
}

// In the response direction HAProxy's hdr() and hdr_cnt() read the response.
class ResponseFetchContext final : public FetchContext {
public:
    ResponseFetchContext(FetchContext& inner, const HttpMessage& res) noexcept : inner_(inner), res_(res) {}
    bool fetch(const conf::FetchCall& f, std::size_t index, Sample& out) noexcept override {
        switch (f.id) {
        case conf::FetchId::hdr:
        case conf::FetchId::req_hdr:
        case conf::FetchId::hdr_cnt: return fetch_http(f, &res_, index, out);
        default: return inner_.fetch(f, index, out);
        }
    }

private:
    FetchContext& inner_;
    const HttpMessage& res_;
};

}  // namespace

RuleVerdict run_http_request_rules(const conf::Proxy& px, HttpMessage& req, FetchContext& ctx, char* out,
                                   std::size_t cap) noexcept {
    using A = conf::Rule::Action;
    for (const auto& r : px.http_request) {
        if (!evaluate(r.cond, px, ctx)) continue;
        switch (r.action) {
        case A::deny: return deny(px, r, req, out, cap);
        case A::return_: return do_return(px, r, req, out, cap);
        case A::redirect: return redirect(px, r, req, ctx, out, cap);
        case A::use_service: return RuleVerdict{RuleVerdict::Kind::service, 200, 0, connection_reply(&req, px).close};
        case A::set_header:
        case A::add_header:
        case A::del_header:
            if (!apply_header_rule(r, req, ctx)) return failed();
            break;
        case A::accept:
        case A::reject: break;   // tcp-request actions never reach this list
        }
    }
    return {};
}

bool run_http_response_rules(const conf::Proxy& px, HttpMessage& res, FetchContext& ctx) noexcept {
    ResponseFetchContext rctx(ctx, res);
    for (const auto& r : px.http_response) {
        if (!evaluate(r.cond, px, rctx)) continue;
        if (!apply_header_rule(r, res, rctx)) return false;
    }
    return true;
}

bool apply_forwardfor(const conf::Proxy& fe, const conf::Proxy& be, HttpMessage& req, const geo::IpAddr& src) noexcept {
    if (!fe.forwardfor.enabled && !be.forwardfor.enabled) return true;
    for (const conf::ForwardFor* ff : {&fe.forwardfor, &be.forwardfor})
        if (ff->except_net && ff->except_net->contains(src)) return true;
    const std::string& name = be.forwardfor.enabled ? be.forwardfor.header : fe.forwardfor.header;
    char text[INET6_ADDRSTRLEN];
    const char* r;
    if (src.is_v4()) {
        in_addr a{htonl(src.v4())};
        r = inet_ntop(AF_INET, &a, text, sizeof text);
    } else {
        r = inet_ntop(AF_INET6, src.b.data(), text, sizeof text);
    }
    if (r == nullptr) return false;
    return req.add_header(name, std::string_view(text));
}

bool monitor_uri_matches(const conf::Proxy& fe, const HttpMessage& req) noexcept {
    const std::string& m = fe.monitor_uri;
    if (m.empty() || !req.is_request()) return false;
    if (m.front() == '/' && path_and_query(req.uri()) == m) return true;
    return req.uri() == m;
}

}  // namespace skjold::proxy
