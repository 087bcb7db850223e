// Handlers for HTTP rules (http-request / http-response), option forwardfor, option httpchk and
// http-check (configuration.txt 4.2). The runtime for all of them is the L7 issue's; here they
// are parsed, validated and stored.
#include <regex.h>

#include "conf/acl_expr_parse.hh"
#include "conf/handlers.hh"
#include "conf/values.hh"
#include "geo/address.hh"

#include <cctype>

namespace skjold::conf::kw {

namespace {

bool is_cond_word(const std::string& w) { return w == "if" || w == "unless"; }

// The same syntax as `src` patterns (geo::parse_prefix), so the runtime reads it the same way.
bool valid_network(const std::string& s) { return geo::parse_prefix(s).has_value(); }

bool valid_status_list(const std::string& s) {
    // "200", "200-399", "200,302,400-404"
    std::size_t pos = 0;
    while (pos <= s.size()) {
        std::size_t comma = s.find(',', pos);
        std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        std::size_t dash = item.find('-');
        auto lo = parse_int(item.substr(0, dash), 100, 599);
        if (!lo) return false;
        if (dash != std::string::npos) {
            auto hi = parse_int(item.substr(dash + 1), 100, 599);
            if (!hi || *hi < *lo) return false;
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return true;
}

// HAProxy's log-format, the part skjold renders (proxy/http_rules.cc): literal text, `%%` and
// `%[FETCH[,CONVERTER...]]` with the fetches below. Anything else in a '%' sequence is refused
// here rather than sent verbatim. As in HAProxy's sample (not ACL) context, hdr(NAME) without
// an occurrence is the last value.
constexpr std::string_view kFormatFetches[] = {"src", "src_port", "dst", "dst_port", "ssl_fc", "ssl_fc_sni",
                                               "ssl_fc_protocol", "ssl_fc_alpn", "hdr", "req.hdr", "hdr_cnt",
                                               "req.hdr_cnt", "path", "url", "method"};

bool compile_format(ParseContext& ctx, const std::string& text, std::vector<FormatPart>& out) {
    out.clear();
    if (text.find('%') == std::string::npos) return true;
    std::string lit;
    auto flush = [&] {
        if (lit.empty()) return;
        out.push_back(FormatPart{std::move(lit), false, {}, {}});
        lit.clear();
    };
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '%') { lit += text[i++]; continue; }
        if (i + 1 < text.size() && text[i + 1] == '%') { lit += '%'; i += 2; continue; }
        if (i + 1 >= text.size() || text[i + 1] != '[') {
            std::size_t e = i + 1;
            while (e < text.size() && (std::isalnum(static_cast<unsigned char>(text[e])) || text[e] == '{' || text[e] == '}' || text[e] == '+')) ++e;
            ctx.error("log-format expression '" + text.substr(i, e - i) + "' is not supported (only %[FETCH[,CONVERTER]] and %%)");
            return false;
        }
        std::size_t close = text.find(']', i + 2);
        if (close == std::string::npos) { ctx.error("log-format: missing ']' after '" + text.substr(i) + "'"); return false; }
        std::string inner = text.substr(i + 2, close - i - 2);
        auto e = parse_acl_expression(inner);
        if (!e) { ctx.error("log-format: " + e.error()); return false; }
        bool known = false;
        for (auto k : kFormatFetches) known = known || e->keyword == k;
        if (!known) {
            ctx.error("log-format: fetch '" + e->keyword + "' is not supported in '%[" + inner +
                      "]' (src, src_port, dst, dst_port, ssl_fc, ssl_fc_sni, ssl_fc_protocol, ssl_fc_alpn, hdr, req.hdr, "
                      "hdr_cnt, path, url, method)");
            return false;
        }
        for (const auto& c : e->converters)
            if (c.id != ConverterId::lower && c.id != ConverterId::upper) {
                ctx.error("log-format: only the lower and upper converters are supported in '%[" + inner + "]'");
                return false;
            }
        if (e->fetch.id == FetchId::hdr && e->fetch.arg.empty()) {
            ctx.error("log-format: '" + e->keyword + "' needs a header name in '%[" + inner + "]'");
            return false;
        }
        if (e->fetch.id == FetchId::hdr && e->fetch.occ == 0) e->fetch.occ = -1;
        if (e->needs_http) ctx.use("http", "log-format " + e->keyword);
        flush();
        out.push_back(FormatPart{{}, true, std::move(e->fetch), std::move(e->converters)});
        i = close + 1;
    }
    flush();
    return true;
}

void deny(ParseContext& ctx, Args args, Rule& r) {
    r.action = Rule::Action::deny;
    r.status = 403;
    std::size_t i = 0;
    while (i < args.size() && !is_cond_word(args[i])) {
        if (args[i] == "deny_status" || args[i] == "status") {
            if (i + 1 >= args.size()) { ctx.error("'" + args[i] + "' expects a status code"); return; }
            auto v = ctx.integer(args[i], args[i + 1], 200, 599);
            if (!v) return;
            if (!is_error_code(static_cast<int>(*v))) {
                ctx.error("status code " + args[i + 1] + " has no default error response (" + error_code_list() + ")");
                return;
            }
            r.status = static_cast<int>(*v);
            i += 2;
        } else {
            break;
        }
    }
    parse_rule_condition(ctx, args, i, r.cond);
}

void do_return(ParseContext& ctx, Args args, Rule& r) {
    r.action = Rule::Action::return_;
    r.status = 200;
    bool have_payload = false;
    std::size_t i = 0;
    while (i < args.size() && !is_cond_word(args[i])) {
        const std::string& a = args[i];
        if (a == "default-errorfiles" || a == "errorfile" || a == "errorfiles" || a == "lf-file" ||
            a == "lf-string" || a == "hdr") {
            ctx.error("argument '" + a + "' is not supported (status, content-type, string, file)");
            return;
        }
        if (a != "status" && a != "content-type" && a != "string" && a != "file") break;
        if (i + 1 >= args.size()) { ctx.error("'" + a + "' expects a value"); return; }
        const std::string& v = args[i + 1];
        if (a == "status") {
            auto s = ctx.integer("status", v, 200, 599);
            if (!s) return;
            r.status = static_cast<int>(*s);
        } else if (a == "content-type") {
            r.content_type = v;
        } else {
            if (have_payload) { ctx.error("only one of 'string' and 'file' may be given"); return; }
            have_payload = true;
            if (a == "string") {
                r.body = v;
            } else {
                auto data = ctx.read_file("file", v);
                if (!data) return;
                r.body = std::move(*data);
            }
            // HAProxy 2.6's check (the answer must fit one buffer); tune.bufsize as set so far.
            if (r.body.size() > ctx.snap.global.bufsize) {
                ctx.error(std::string(a == "file" ? "file '" : "string '") + (a == "file" ? v : "...") +
                          "' exceeds the buffer size (" + std::to_string(r.body.size()) + " > " +
                          std::to_string(ctx.snap.global.bufsize) + ")");
                return;
            }
        }
        i += 2;
    }
    if (!r.body.empty() && r.content_type.empty()) {
        ctx.error("a content type must be defined when a non-empty payload is configured");
        return;
    }
    parse_rule_condition(ctx, args, i, r.cond);
}

void redirect(ParseContext& ctx, Args args, Rule& r) {
    r.action = Rule::Action::redirect;
    r.status = 302;
    if (args.empty() || is_cond_word(args[0])) { ctx.error("expects location, prefix or scheme"); return; }
    if (args[0] == "location") r.redirect = Rule::RedirectKind::location;
    else if (args[0] == "prefix") r.redirect = Rule::RedirectKind::prefix;
    else if (args[0] == "scheme") r.redirect = Rule::RedirectKind::scheme;
    else { ctx.error("redirect type '" + args[0] + "' is not supported (location, prefix, scheme)"); return; }
    if (args.size() < 2 || is_cond_word(args[1])) { ctx.error("missing argument for '" + args[0] + "'"); return; }
    r.value = args[1];
    if (!compile_format(ctx, r.value, r.value_format)) return;
    std::size_t i = 2;
    while (i < args.size() && !is_cond_word(args[i])) {
        if (args[i] == "code") {
            if (i + 1 >= args.size()) { ctx.error("'code' expects 301, 302, 303, 307 or 308"); return; }
            auto c = parse_int(args[i + 1], 0, 999);
            if (!c || (*c != 301 && *c != 302 && *c != 303 && *c != 307 && *c != 308)) {
                ctx.error("'code': unsupported HTTP code '" + args[i + 1] + "' (must be one of 301, 302, 303, 307 or 308)");
                return;
            }
            r.status = static_cast<int>(*c);
            i += 2;
        } else if (args[i] == "drop-query" || args[i] == "append-slash" || args[i] == "set-cookie" ||
                   args[i] == "clear-cookie" || args[i] == "ignore-empty") {
            ctx.error("option '" + args[i] + "' is not supported");
            return;
        } else {
            break;
        }
    }
    parse_rule_condition(ctx, args, i, r.cond);
}

void header_rule(ParseContext& ctx, Args args, Rule& r, std::string_view action) {
    std::size_t want = action == "del-header" ? 1 : 2;
    r.action = action == "set-header" ? Rule::Action::set_header
               : action == "add-header" ? Rule::Action::add_header
                                        : Rule::Action::del_header;
    std::size_t n = 0;
    while (n < args.size() && n < want && !is_cond_word(args[n])) ++n;
    if (n < want) {
        ctx.error(want == 1 ? "expects a header name" : "expects exactly 2 arguments (a header name and a value)");
        return;
    }
    if (!is_valid_header_name(args[0])) { ctx.error("invalid header name '" + args[0] + "'"); return; }
    r.name = args[0];
    if (want == 2) {
        r.value = args[1];
        if (!compile_format(ctx, r.value, r.value_format)) return;
    }
    if (want == 1 && args.size() > 1 && args[1] == "-m") { ctx.error("'-m' is not supported"); return; }
    parse_rule_condition(ctx, args, want, r.cond);
}

// `http-request use-service prometheus-exporter [if|unless COND]`: HAProxy's promex service,
// the only one skjold has (HAProxy's Lua services are not supported).
void use_service(ParseContext& ctx, Args args, Rule& r) {
    r.action = Rule::Action::use_service;
    if (args.empty() || is_cond_word(args[0])) { ctx.error("expects a service name (prometheus-exporter)"); return; }
    if (args[0] != "prometheus-exporter") {
        ctx.error("unknown service '" + args[0] + "' (prometheus-exporter is the only one)");
        return;
    }
    r.name = args[0];
    parse_rule_condition(ctx, args, 1, r.cond);
}

}  // namespace

void http_rule(ParseContext& ctx, Args args) {
    bool request = ctx.keyword.starts_with("http-request ");
    std::string_view action = std::string_view(ctx.keyword).substr(ctx.keyword.find(' ') + 1);
    Rule r;
    r.loc = ctx.loc;
    if (action == "deny") deny(ctx, args, r);
    else if (action == "return") do_return(ctx, args, r);
    else if (action == "redirect") redirect(ctx, args, r);
    else if (action == "use-service") use_service(ctx, args, r);
    else header_rule(ctx, args, r, action);
    if (ctx.failed()) return;
    auto& rules = request ? ctx.px->http_request : ctx.px->http_response;
    if (!rules.empty()) {
        const Rule& prev = rules.back();
        bool final = prev.action == Rule::Action::deny || prev.action == Rule::Action::return_ ||
                     prev.action == Rule::Action::redirect || prev.action == Rule::Action::use_service;
        if (final && !prev.cond.present)
            ctx.warn_plain(std::string("previous '") + (request ? "http-request" : "http-response") +
                           "' action is final and has no condition attached, further entries are NOOP");
    }
    rules.push_back(std::move(r));
    ctx.section.has_rules = true;
}

void forwardfor(ParseContext& ctx, Args args) {
    ForwardFor f;
    f.enabled = true;
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const std::string& a = args[i];
        if (a == "if-none") { ctx.error("argument 'if-none' is not supported"); return; }
        if (a != "except" && a != "header") { ctx.error("unexpected argument '" + a + "' (except, header)"); return; }
        if (i + 1 >= args.size()) { ctx.error("'" + a + "' expects a value"); return; }
        const std::string& v = args[i + 1];
        if (a == "except") {
            if (!valid_network(v)) { ctx.error("'except' expects an address or network, got '" + v + "'"); return; }
            f.except = v;
            f.except_net = *geo::parse_prefix(v);
        } else {
            if (!is_valid_header_name(v)) { ctx.error("invalid header name '" + v + "'"); return; }
            f.header = v;
        }
    }
    ctx.px->forwardfor = std::move(f);
}

void httpchk(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 0, 3)) return;
    HttpCheck& c = ctx.px->httpchk;
    c.enabled = true;
    if (args.size() == 1) {
        c.uri = args[0];               // one argument is the URI (HAProxy)
    } else if (args.size() >= 2) {
        c.method = args[0];
        c.uri = args[1];
        if (args.size() == 3) c.version = args[2];
    }
    if (c.method.empty() || !is_valid_header_name(c.method)) { ctx.error("invalid method '" + c.method + "'"); return; }
    if (c.uri.empty()) { ctx.error("expects a non-empty URI"); return; }
}

void http_check_send(ParseContext& ctx, Args args) {
    if (ctx.section.check_send_seen) { ctx.error("only one 'http-check send' per section is supported"); return; }
    HttpCheck c = ctx.px->httpchk;
    c.headers.clear();
    for (std::size_t i = 0; i < args.size();) {
        const std::string& a = args[i];
        if (a == "uri-lf" || a == "body" || a == "body-lf" || a == "comment") {
            ctx.error("argument '" + a + "' is not supported (meth, uri, ver, hdr)");
            return;
        }
        std::size_t need = a == "hdr" ? 2 : 1;
        if (a != "meth" && a != "uri" && a != "ver" && a != "hdr") {
            ctx.error("unexpected argument '" + a + "' (meth, uri, ver, hdr)");
            return;
        }
        if (i + need >= args.size()) { ctx.error("'" + a + "' expects " + (need == 2 ? "a name and a value" : "a value")); return; }
        const std::string& v = args[i + 1];
        if (a == "meth") {
            if (!is_valid_header_name(v)) { ctx.error("invalid method '" + v + "'"); return; }
            c.method = v;
        } else if (a == "uri") {
            c.uri = v;
        } else if (a == "ver") {
            c.version = v;
        } else {
            if (!is_valid_header_name(v)) { ctx.error("invalid header name '" + v + "'"); return; }
            c.headers.emplace_back(v, args[i + 2]);
        }
        i += need + 1;
    }
    ctx.px->httpchk = std::move(c);
    ctx.section.check_send_seen = true;
}

void http_check_expect(ParseContext& ctx, Args args) {
    if (ctx.section.check_expect_seen) { ctx.error("only one 'http-check expect' per section is supported"); return; }
    if (args.empty()) { ctx.error("expects status, rstatus or string and a pattern"); return; }
    const std::string& m = args[0];
    if (m == "!" || m.starts_with("!")) { ctx.error("negated matches ('!') are not supported"); return; }
    HttpCheck::Expect e;
    if (m == "status") e = HttpCheck::Expect::status;
    else if (m == "rstatus") e = HttpCheck::Expect::rstatus;
    else if (m == "string") e = HttpCheck::Expect::string;
    else { ctx.error("'" + m + "' is not supported (status, rstatus, string)"); return; }
    if (args.size() != 2) {
        ctx.error(args.size() < 2 ? "'" + m + "' expects a pattern" : "unexpected argument '" + args[2] + "'");
        return;
    }
    const std::string& p = args[1];
    if (e == HttpCheck::Expect::status && !valid_status_list(p)) {
        ctx.error("'status' expects status codes or ranges (e.g. 200 or 200-399,404), got '" + p + "'");
        return;
    }
    if (e == HttpCheck::Expect::rstatus) {
        regex_t re;
        int rc = regcomp(&re, p.c_str(), REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char buf[256];
            regerror(rc, &re, buf, sizeof buf);
            ctx.error("invalid regular expression '" + p + "': " + buf);
            return;
        }
        regfree(&re);
    }
    if (p.empty()) { ctx.error("'" + m + "' expects a non-empty pattern"); return; }
    ctx.px->httpchk.expect = e;
    ctx.px->httpchk.expect_arg = p;
    ctx.section.check_expect_seen = true;
}

}  // namespace skjold::conf::kw
