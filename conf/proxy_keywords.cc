// Handlers for proxy keywords (defaults / frontend / backend / listen), configuration.txt 4.2,
// except HTTP rules and checks (http_keywords.cc) and bind/server (bind_keywords.cc,
// server_keywords.cc).
#include <algorithm>
#include <array>
#include <cctype>
#include <climits>

#include "conf/condition.hh"
#include "conf/handlers.hh"
#include "conf/values.hh"

namespace skjold::conf::kw {

namespace {

// Status codes HAProxy can produce itself, hence accepted by errorfile and deny (verified with
// haproxy 2.6 -c: 401 and 407 are accepted too, 418 is not).
constexpr std::array<int, 17> kErrorCodes = {200, 400, 401, 403, 404, 405, 407, 408, 410,
                                             413, 425, 429, 500, 501, 502, 503, 504};

}  // namespace

bool is_error_code(int code) {
    return std::find(kErrorCodes.begin(), kErrorCodes.end(), code) != kErrorCodes.end();
}

std::string error_code_list() {
    std::string s;
    for (int c : kErrorCodes) s += (s.empty() ? "" : ", ") + std::to_string(c);
    return s;
}

void mode(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (args[0] == "tcp") {
        ctx.px->mode = Mode::tcp;
    } else if (args[0] == "http") {
        ctx.px->mode = Mode::http;
        ctx.use("http", "mode http");
    } else {
        ctx.error("unknown proxy mode '" + args[0] + "' (tcp or http)");
    }
}

void proxy_maxconn(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 0, INT_MAX)) ctx.px->maxconn = static_cast<int>(*v);
}

void proxy_log(ParseContext& ctx, Args args) {
    Proxy& px = *ctx.px;
    if (ctx.negated) {
        if (!args.empty()) { ctx.error("'no log' does not expect arguments"); return; }
        px.logs.clear();
        ctx.section.log_global_seen = false;
        return;
    }
    if (!args.empty() && args[0] == "global") {
        if (args.size() > 1) { ctx.error("'log global' does not expect other arguments"); return; }
        if (ctx.section.log_global_seen) { ctx.error("only one 'log global' is allowed per section"); return; }
        ctx.section.log_global_seen = true;
        // Copied now, as HAProxy does: the global section must come first.
        for (const auto& t : ctx.snap.global.logs) px.logs.push_back(t);
        return;
    }
    LogTarget t;
    if (parse_log_target(ctx, args, t)) px.logs.push_back(t);
}

void flag_option(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 0, 0)) return;
    Proxy& px = *ctx.px;
    const std::string& k = ctx.keyword;
    bool v = !ctx.negated;
    if (k == "option dontlognull") px.option_dontlognull = v;
    else if (k == "option log-health-checks") px.option_log_health_checks = v;
    else if (k == "option redispatch") px.option_redispatch = v;
    else if (k == "option allbackups") px.option_allbackups = v;
}

void log_format_option(ParseContext& ctx, Args args) {
    if (!args.empty()) {
        ctx.error("argument '" + args[0] + "' is not supported");
        return;
    }
    bool http = ctx.keyword == "option httplog";
    ctx.px->option_httplog = http;
    ctx.px->option_tcplog = !http;
}

void http_conn_option(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 0, 0)) return;
    HttpConnMode m = ctx.keyword == "option httpclose"           ? HttpConnMode::close
                     : ctx.keyword == "option http-server-close" ? HttpConnMode::server_close
                                                                 : HttpConnMode::keep_alive;
    if (!ctx.negated) ctx.px->http_conn_mode = m;
    else if (ctx.px->http_conn_mode == m) ctx.px->http_conn_mode = HttpConnMode::keep_alive;
}

void timeout(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    auto v = ctx.time("", args[0]);
    if (!v) return;
    Timeouts& t = ctx.px->timeouts;
    std::string_view which = std::string_view(ctx.keyword).substr(8);   // after "timeout "
    Millis* slot = which == "client"            ? &t.client
                   : which == "server"          ? &t.server
                   : which == "connect"         ? &t.connect
                   : which == "http-request"    ? &t.http_request
                   : which == "http-keep-alive" ? &t.http_keep_alive
                   : which == "queue"           ? &t.queue
                   : which == "check"           ? &t.check
                   : which == "tunnel"          ? &t.tunnel
                   : which == "client-fin"      ? &t.client_fin
                   : which == "server-fin"      ? &t.server_fin
                                                : nullptr;
    if (slot == nullptr) { ctx.error("internal: no slot for this timeout"); return; }
    *slot = *v == 0 ? kUnset : *v;   // HAProxy: 0 means no timeout
}

void retries(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 0, INT_MAX)) ctx.px->retries = static_cast<int>(*v);
}

void balance(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    const std::string& a = args[0];
    Balance b;
    if (a == "roundrobin") b = Balance::roundrobin;
    else if (a == "static-rr") b = Balance::static_rr;
    else if (a == "leastconn") b = Balance::leastconn;
    else if (a == "source") b = Balance::source;
    else if (a == "first") b = Balance::first;
    else if (a == "random") b = Balance::random;
    else {
        ctx.error("algorithm '" + a + "' is not supported (roundrobin, static-rr, leastconn, source, first, random)");
        return;
    }
    ctx.px->balance = b;
}

// An ACL expression whose fetch needs an HTTP request is a use of that feature on the line that
// wrote it. map_ip()/geoip() converters need nothing more: their tables load with the Snapshot.
static void tag_acl_expr(ParseContext& ctx, const AclExpr& e) {
    if (e.needs_http) ctx.use("http", "acl " + e.keyword);
}

bool parse_rule_condition(ParseContext& ctx, Args args, std::size_t pos, Condition& cond) {
    if (pos >= args.size()) return true;
    if (args[pos] != "if" && args[pos] != "unless") {
        ctx.error("expects 'if' or 'unless' followed by a condition but found '" + args[pos] + "'");
        return false;
    }
    if (pos + 1 >= args.size()) {
        ctx.error("missing condition after '" + args[pos] + "'");
        return false;
    }
    std::size_t before = ctx.px->acls.size();
    auto r = parse_condition(*ctx.px, args.subspan(pos), SourceLocRef{ctx.loc.file, ctx.loc.line});
    if (!r) {
        ctx.error(r.error());
        return false;
    }
    for (std::size_t i = before; i < ctx.px->acls.size(); ++i)   // anonymous `{ ... }` ACLs
        for (const auto& e : ctx.px->acls[i].exprs) tag_acl_expr(ctx, e);
    cond = std::move(*r);
    return true;
}

void acl(ParseContext& ctx, Args args) {
    if (args.size() < 2) { ctx.error("expects a name and a criterion"); return; }
    if (!is_valid_name(args[0])) {
        ctx.error("invalid ACL name '" + args[0] + "' (letters, digits, '-', '_', '.', ':')");
        return;
    }
    if (auto err = add_acl(*ctx.px, args, SourceLocRef{ctx.loc.file, ctx.loc.line})) {
        ctx.error(*err);
        return;
    }
    for (const auto& a : ctx.px->acls)
        if (a.name == args[0] && !a.exprs.empty()) tag_acl_expr(ctx, a.exprs.back());
}

void use_backend(ParseContext& ctx, Args args) {
    if (args.empty()) { ctx.error("expects a backend name"); return; }
    if (args[0].find("%[") != std::string::npos) {
        ctx.error("dynamic backend names ('" + args[0] + "') are not supported");
        return;
    }
    if (!is_valid_name(args[0])) { ctx.error("invalid backend name '" + args[0] + "'"); return; }
    UseBackend ub;
    ub.loc = ctx.loc;
    ub.name = args[0];
    if (!parse_rule_condition(ctx, args, 1, ub.cond)) return;
    ctx.px->use_backends.push_back(std::move(ub));
}

void default_backend(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (!is_valid_name(args[0])) { ctx.error("invalid backend name '" + args[0] + "'"); return; }
    ctx.px->default_backend_name = args[0];
    ctx.px->default_backend_loc = ctx.loc;
}

void tcp_request_connection(ParseContext& ctx, Args args) {
    if (args.empty()) { ctx.error("expects an action (accept or reject)"); return; }
    Rule r;
    r.loc = ctx.loc;
    if (args[0] == "accept") r.action = Rule::Action::accept;
    else if (args[0] == "reject") r.action = Rule::Action::reject;
    else {
        ctx.error_plain("'tcp-request connection " + args[0] + "' is not supported");
        return;
    }
    if (!parse_rule_condition(ctx, args, 1, r.cond)) return;
    ctx.px->tcp_request_connection.push_back(std::move(r));
    ctx.section.has_rules = true;
}

// An errorfile holds a whole HTTP response: a status line, headers, an empty line, a body.
// An empty file is allowed (HAProxy's "errorfile 408 /dev/null": close without answering).
static std::optional<std::string> check_http_response(const std::string& data) {
    if (data.empty()) return std::nullopt;
    if (!data.starts_with("HTTP/1.0 ") && !data.starts_with("HTTP/1.1 "))
        return std::string("does not start with an HTTP/1.x status line");
    if (data.size() < 12 || !std::isdigit(static_cast<unsigned char>(data[9])) ||
        !std::isdigit(static_cast<unsigned char>(data[10])) || !std::isdigit(static_cast<unsigned char>(data[11])))
        return std::string("has no status code in its first line");
    if (data.find("\r\n\r\n") == std::string::npos && data.find("\n\n") == std::string::npos)
        return std::string("has no empty line ending its headers");
    return std::nullopt;
}

void errorfile(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 2, 2)) return;
    auto code = ctx.integer("status code", args[0], 100, 599);
    if (!code) return;
    if (!is_error_code(static_cast<int>(*code))) {
        ctx.error("status code " + args[0] + " is not one skjold produces (" + error_code_list() + ")");
        return;
    }
    auto data = ctx.read_file("", args[1]);
    if (!data) return;
    if (auto bad = check_http_response(*data)) {
        ctx.error("'" + args[1] + "' " + *bad);
        return;
    }
    // Bare LF line ends in the head become CRLF now, so the worker sends a well-formed head and
    // finds its end with one search (proxy/http_errors.cc); the body is kept byte for byte.
    if (!data->empty()) {
        std::size_t crlf = data->find("\r\n\r\n"), lf = data->find("\n\n");
        if (crlf == std::string::npos || (lf != std::string::npos && lf < crlf)) {
            std::string head = data->substr(0, lf + 1), out;
            for (char c : head) {
                if (c == '\n' && (out.empty() || out.back() != '\r')) out += '\r';
                out += c;
            }
            *data = out + "\r\n" + data->substr(lf + 2);
        }
    }
    ctx.px->errorfiles[static_cast<int>(*code)] = std::move(*data);
}

void monitor_uri(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (args[0].empty()) { ctx.error("expects a non-empty URI"); return; }
    ctx.px->monitor_uri = args[0];
}

void http_reuse(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    const std::string& a = args[0];
    if (a == "never") ctx.px->http_reuse = HttpReuse::never;
    else if (a == "safe") ctx.px->http_reuse = HttpReuse::safe;
    else if (a == "aggressive") ctx.px->http_reuse = HttpReuse::aggressive;
    else if (a == "always") ctx.px->http_reuse = HttpReuse::always;
    else ctx.error("expects never, safe, aggressive or always, got '" + a + "'");
}

void disabled(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 0, 0)) return;
    ctx.px->disabled = ctx.keyword == "disabled";
}

}  // namespace skjold::conf::kw
