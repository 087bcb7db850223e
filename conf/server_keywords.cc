// `server NAME ADDR:PORT [options]`, `default-server [options]` and their option table
// (configuration.txt 5.2). Checks mirror haproxy 2.6 -c (rise/fall > 0, weight 0..256, inter > 0,
// verify without ca-file refused).
#include <climits>

#include "conf/handlers.hh"
#include "conf/values.hh"
#include "core/sock_addr.hh"

namespace skjold::conf {

namespace {

void set_time(ParseContext& ctx, std::string_view what, std::string_view v, Millis& out, bool positive) {
    auto t = ctx.time(what, v);
    if (!t) return;
    if (positive && *t == 0) { ctx.error("'" + std::string(what) + "' must be greater than 0"); return; }
    out = *t;
}

void opt_check(ParseContext&, ServerOptions& o, std::string_view) { o.check = true; }
void opt_inter(ParseContext& ctx, ServerOptions& o, std::string_view v) { set_time(ctx, "inter", v, o.inter, true); }
void opt_fastinter(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    set_time(ctx, "fastinter", v, o.fastinter, true);
}
void opt_downinter(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    set_time(ctx, "downinter", v, o.downinter, true);
}
void opt_rise(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("rise", v, 1, INT_MAX)) o.rise = static_cast<int>(*n);
}
void opt_fall(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("fall", v, 1, INT_MAX)) o.fall = static_cast<int>(*n);
}
void opt_port(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("port", v, 1, 65535)) o.check_port = static_cast<int>(*n);
}
void opt_addr(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    auto a = core::parse_sock_addr(v, core::PortRule::forbidden);
    if (!a || a->is_unix()) {
        ctx.error("'addr' expects an IPv4 or IPv6 address, got '" + std::string(v) + "'" +
                  (a ? "" : ": " + a.error().detail));
        return;
    }
    o.check_addr = *a;
}
void opt_weight(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("weight", v, 0, 256)) o.weight = static_cast<int>(*n);
}
void opt_backup(ParseContext&, ServerOptions& o, std::string_view) { o.backup = true; }
void opt_disabled(ParseContext&, ServerOptions& o, std::string_view) { o.disabled = true; }
void opt_maxconn(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("maxconn", v, 0, INT_MAX)) o.maxconn = static_cast<int>(*n);
}
void opt_slowstart(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    set_time(ctx, "slowstart", v, o.slowstart, false);
}
void opt_observe(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (v == "layer4") o.observe = Observe::layer4;
    else if (v == "layer7") o.observe = Observe::layer7;
    else ctx.error("'observe' expects layer4 or layer7, got '" + std::string(v) + "'");
}
void opt_error_limit(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (auto n = ctx.integer("error-limit", v, 1, INT_MAX)) o.error_limit = static_cast<int>(*n);
}
void opt_on_error(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (v == "fastinter") o.on_error = OnError::fastinter;
    else if (v == "fail-check") o.on_error = OnError::fail_check;
    else if (v == "sudden-death") o.on_error = OnError::sudden_death;
    else if (v == "mark-down") o.on_error = OnError::mark_down;
    else ctx.error("'on-error' expects fastinter, fail-check, sudden-death or mark-down, got '" + std::string(v) + "'");
}
void opt_send_proxy(ParseContext&, ServerOptions& o, std::string_view) { o.send_proxy = true; }
void opt_send_proxy_v2(ParseContext&, ServerOptions& o, std::string_view) { o.send_proxy_v2 = true; }
void opt_ssl(ParseContext&, ServerOptions& o, std::string_view) { o.ssl = true; }
void opt_verify(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (v == "none") o.verify_required = false;
    else if (v == "required") o.verify_required = true;
    else ctx.error("'verify': unknown verify method '" + std::string(v) + "', only 'none' and 'required' are supported");
}
void opt_ca_file(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (ctx.check_readable("ca-file", std::string(v))) o.ca_file = v;
}
void opt_sni(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (v.empty()) { ctx.error("'sni' expects an expression"); return; }
    o.sni = v;
}
void opt_check_ssl(ParseContext&, ServerOptions& o, std::string_view) { o.check_ssl = true; }
void opt_alpn(ParseContext& ctx, ServerOptions& o, std::string_view v) {
    if (v.empty()) { ctx.error("'alpn' expects a comma-separated protocol list"); return; }
    o.alpn = v;
}

constexpr ServerOptionInfo kServerOptions[] = {
    {"check", "", 0, opt_check, "Enable active health checks (the server starts UP).", "health"},
    {"inter", "TIME", 1, opt_inter, "Interval between checks while fully UP (default 2s).", "health"},
    {"fastinter", "TIME", 1, opt_fastinter, "Interval while going up or down (default: inter).", "health"},
    {"downinter", "TIME", 1, opt_downinter, "Interval while DOWN (default: inter).", "health"},
    {"rise", "N", 1, opt_rise, "Consecutive successes to mark a server UP (default 2, at least 1).", "health"},
    {"fall", "N", 1, opt_fall, "Consecutive failures to mark a server DOWN (default 3, at least 1).", "health"},
    {"port", "PORT", 1, opt_port, "Port health checks connect to (default: the server's).", "health"},
    {"addr", "IP", 1, opt_addr, "Address health checks connect to (default: the server's).", "health"},
    {"weight", "N", 1, opt_weight, "Load-balancing weight, 0..256 (default 1; 0 takes no new traffic).", ""},
    {"backup", "", 0, opt_backup, "Use only when no non-backup server is usable.", ""},
    {"disabled", "", 0, opt_disabled, "Start in maintenance: never picked until enabled.", ""},
    {"maxconn", "N", 1, opt_maxconn, "Concurrent connections to this server (0: unlimited).", ""},
    {"slowstart", "TIME", 1, opt_slowstart, "Ramp the weight up over TIME after the server comes UP.", "slowstart"},
    {"observe", "layer4|layer7", 1, opt_observe, "Count errors seen on live traffic (passive health).", "observe"},
    {"error-limit", "N", 1, opt_error_limit, "Observed errors before on-error applies (default 10).", "observe"},
    {"on-error", "fastinter|fail-check|sudden-death|mark-down", 1, opt_on_error,
     "What reaching error-limit does (default fail-check).", "observe"},
    {"send-proxy", "", 0, opt_send_proxy, "Send a PROXY protocol v1 header to the server.", "proxy-protocol"},
    {"send-proxy-v2", "", 0, opt_send_proxy_v2, "Send a PROXY protocol v2 header to the server.", "proxy-protocol"},
    {"ssl", "", 0, opt_ssl, "Connect to the server over TLS.", "tls"},
    {"verify", "none|required", 1, opt_verify, "Verify the server certificate (default required: needs ca-file).", "tls"},
    {"ca-file", "FILE", 1, opt_ca_file, "CA certificates (PEM) to verify the server with.", "tls"},
    {"sni", "EXPR", 1, opt_sni, "SNI sent to the server, a sample expression (e.g. str(example.com)).", "tls"},
    {"check-ssl", "", 0, opt_check_ssl, "Run health checks over TLS.", "tls,health"},
    {"alpn", "LIST", 1, opt_alpn, "ALPN protocols offered to the server, comma-separated.", "tls"},
};

// Applies options args[from..] to o; the feature prefix is "server" or "default-server".
bool apply_options(ParseContext& ctx, ServerOptions& o, std::span<const std::string> args, std::size_t from,
                   std::string_view who) {
    for (std::size_t i = from; i < args.size(); ++i) {
        const ServerOptionInfo* info = nullptr;
        for (const auto& opt : server_option_table())
            if (opt.name == args[i]) info = &opt;
        if (info == nullptr) {
            ctx.error("option '" + args[i] + "' is not supported");
            return false;
        }
        std::string_view v;
        if (info->nargs == 1) {
            if (i + 1 >= args.size()) {
                ctx.error("'" + args[i] + "' expects " + std::string(info->synopsis));
                return false;
            }
            v = args[++i];
        }
        info->apply(ctx, o, v);
        if (ctx.failed()) return false;
        if (!info->feature.empty()) ctx.use(info->feature, std::string(who) + " " + std::string(info->name));
    }
    return true;
}

}  // namespace

std::span<const ServerOptionInfo> server_option_table() { return kServerOptions; }

namespace kw {

void server(ParseContext& ctx, Args args) {
    if (args.size() < 2) { ctx.error("expects a name and an address (server NAME ADDR:PORT [options])"); return; }
    Proxy& px = *ctx.px;
    const std::string& name = args[0];
    if (!is_valid_name(name)) {
        ctx.error("invalid server name '" + name + "' (letters, digits, '-', '_', '.', ':')");
        return;
    }
    for (const auto& s : px.servers) {
        if (s.name == name) {
            ctx.error("another server named '" + name + "' was already defined at " + s.loc.str() +
                      ", please use distinct names");
            return;
        }
    }
    Server s;
    s.loc = ctx.loc;
    s.name = name;
    auto a = core::parse_sock_addr(args[1], core::PortRule::required);
    if (!a) { ctx.error("invalid address '" + args[1] + "': " + a.error().detail); return; }
    s.addr = *a;
    s.opt = px.default_server;
    if (!apply_options(ctx, s.opt, args, 2, "server")) return;
    if ((s.opt.ssl || s.opt.check_ssl) && s.opt.verify_required && s.opt.ca_file.empty()) {
        ctx.error("verify is enabled by default but no CA file specified; set 'ca-file FILE', or 'verify none' "
                  "if you trust the network to the server");
        return;
    }
    s.id = static_cast<std::uint32_t>(px.servers.size());
    px.servers.push_back(std::move(s));
}

void default_server(ParseContext& ctx, Args args) {
    ServerOptions o = ctx.px->default_server;
    if (!apply_options(ctx, o, args, 0, "default-server")) return;
    ctx.px->default_server = o;
}

}  // namespace kw
}  // namespace skjold::conf
