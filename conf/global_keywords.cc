// Handlers for the `global` section (configuration.txt 3.x), and `log` target parsing shared
// with proxies.
#include <array>
#include <climits>

#include "conf/handlers.hh"
#include "conf/values.hh"
#include "core/sock_addr.hh"

namespace skjold::conf::kw {

namespace {

bool one_string(ParseContext& ctx, Args args, std::string& out) {
    if (!ctx.expect_count(args, 1, 1)) return false;
    if (args[0].empty()) {
        ctx.error("expects a non-empty argument");
        return false;
    }
    out = args[0];
    return true;
}

constexpr std::array<std::string_view, 24> kFacilities = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp",
    "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
constexpr std::array<std::string_view, 8> kLevels = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

int index_of(std::span<const std::string_view> names, std::string_view w) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == w) return static_cast<int>(i);
    return -1;
}

bool valid_tls_version(std::string_view v) {
    return v == "SSLv3" || v == "TLSv1.0" || v == "TLSv1.1" || v == "TLSv1.2" || v == "TLSv1.3";
}

}  // namespace

void daemon(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 0, 0)) return;
    ctx.snap.global.daemon = true;
}
void user(ParseContext& ctx, Args args) { one_string(ctx, args, ctx.snap.global.user); }
void group(ParseContext& ctx, Args args) { one_string(ctx, args, ctx.snap.global.group); }
void chroot(ParseContext& ctx, Args args) { one_string(ctx, args, ctx.snap.global.chroot); }
void pidfile(ParseContext& ctx, Args args) { one_string(ctx, args, ctx.snap.global.pidfile); }

void nbthread(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 1, 1024)) ctx.snap.global.nbthread = static_cast<int>(*v);
}

void global_maxconn(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 1, INT_MAX)) ctx.snap.global.maxconn = static_cast<int>(*v);
}

void ulimit_n(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 1, INT_MAX)) ctx.snap.global.ulimit_n = static_cast<int>(*v);
}

bool parse_log_target(ParseContext& ctx, Args args, LogTarget& out) {
    if (args.empty()) {
        ctx.error("expects a target (stdout, stderr, a unix socket path or IP[:PORT]) and a facility");
        return false;
    }
    out.loc = ctx.loc;
    const std::string& t = args[0];
    if (t == "stdout") {
        out.kind = LogTarget::Kind::stdout_;
    } else if (t == "stderr") {
        out.kind = LogTarget::Kind::stderr_;
    } else if (t.starts_with("/") || t.starts_with("unix@")) {
        auto a = core::parse_sock_addr(t);
        if (!a) { ctx.error("invalid log target '" + t + "': " + a.error().detail); return false; }
        out.kind = LogTarget::Kind::unix_dgram;
        out.addr = *a;
    } else if (t.starts_with("fd@") || t.starts_with("ring@") || t.starts_with("tcp@") || t.starts_with("tcp4@") ||
               t.starts_with("tcp6@")) {
        ctx.error("log target '" + t + "' is not supported (use stdout, stderr, a unix socket path or IP[:PORT])");
        return false;
    } else {
        std::string_view host = t;
        if (host.starts_with("udp@")) host.remove_prefix(4);
        else if (host.starts_with("udp4@")) { host.remove_prefix(5); }
        else if (host.starts_with("udp6@")) { host.remove_prefix(5); }
        std::string h(host);
        if (t.starts_with("udp4@")) h = "ipv4@" + h;
        if (t.starts_with("udp6@")) h = "ipv6@" + h;
        auto a = core::parse_sock_addr(h, core::PortRule::optional);
        if (!a) { ctx.error("invalid log target '" + t + "': " + a.error().detail); return false; }
        out.kind = LogTarget::Kind::udp;
        out.addr = *a;
        if (out.addr.port() == 0) out.addr.set_port(514);   // the syslog port, as HAProxy
    }
    std::size_t i = 1;
    while (i < args.size()) {
        if (args[i] == "len") {
            if (i + 1 >= args.size()) { ctx.error("'len' expects a length"); return false; }
            auto v = ctx.integer("len", args[i + 1], 80, 65535);
            if (!v) return false;
            out.maxlen = static_cast<std::uint32_t>(*v);
            i += 2;
        } else if (args[i] == "format") {
            if (i + 1 >= args.size()) { ctx.error("'format' expects raw, rfc3164 or rfc5424"); return false; }
            const std::string& f = args[i + 1];
            if (f == "raw") out.format = LogFormat::raw;
            else if (f == "rfc3164") out.format = LogFormat::rfc3164;
            else if (f == "rfc5424") out.format = LogFormat::rfc5424;
            else {
                ctx.error("log format '" + f + "' is not supported (raw, rfc3164 or rfc5424)");
                return false;
            }
            i += 2;
        } else if (args[i] == "sample") {
            ctx.error("'sample' is not supported");
            return false;
        } else {
            break;
        }
    }
    if (i >= args.size()) { ctx.error("expects a facility after the target"); return false; }
    int fac = index_of(kFacilities, args[i]);
    if (fac < 0) { ctx.error("unknown facility '" + args[i] + "'"); return false; }
    out.facility = fac;
    ++i;
    if (i < args.size()) {
        int lvl = index_of(kLevels, args[i]);
        if (lvl < 0) { ctx.error("unknown log level '" + args[i] + "'"); return false; }
        out.level = lvl;
        ++i;
    }
    if (i < args.size()) {
        int lvl = index_of(kLevels, args[i]);
        if (lvl < 0) { ctx.error("unknown log level '" + args[i] + "'"); return false; }
        out.minlevel = lvl;
        ++i;
    }
    if (i < args.size()) { ctx.error("unexpected argument '" + args[i] + "'"); return false; }
    return true;
}

void global_log(ParseContext& ctx, Args args) {
    if (!args.empty() && args[0] == "global") {
        ctx.error("'log global' is only meaningful in a proxy");
        return;
    }
    LogTarget t;
    if (parse_log_target(ctx, args, t)) ctx.snap.global.logs.push_back(t);
}

void stats_socket(ParseContext& ctx, Args args) {
    if (args.empty()) { ctx.error("expects a unix socket path or ADDR:PORT"); return; }
    StatsSocket s;
    s.loc = ctx.loc;
    auto a = core::parse_sock_addr(args[0], core::PortRule::required);
    if (!a) { ctx.error("invalid address '" + args[0] + "': " + a.error().detail); return; }
    s.addr = *a;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& o = args[i];
        bool has_arg = i + 1 < args.size();
        if (o == "mode") {
            if (!has_arg) { ctx.error("'mode' expects an octal value"); return; }
            const std::string& v = args[++i];
            std::uint32_t m = 0;
            bool ok = !v.empty() && v.size() <= 4;
            for (char c : v) {
                if (c < '0' || c > '7') { ok = false; break; }
                m = m * 8 + static_cast<std::uint32_t>(c - '0');
            }
            if (!ok || m > 07777) { ctx.error("'mode' expects an octal value, got '" + v + "'"); return; }
            s.mode = m;
        } else if (o == "level") {
            if (!has_arg) { ctx.error("'level' expects user, operator or admin"); return; }
            const std::string& v = args[++i];
            if (v == "user") s.level = StatsSocket::Level::user;
            else if (v == "operator") s.level = StatsSocket::Level::operator_;
            else if (v == "admin") s.level = StatsSocket::Level::admin;
            else { ctx.error("'level' expects user, operator or admin, got '" + v + "'"); return; }
        } else if (o == "user" || o == "group") {
            if (!has_arg || args[i + 1].empty()) { ctx.error("'" + o + "' expects a name"); return; }
            (o == "user" ? s.user : s.group) = args[++i];
        } else if (o == "expose-fd") {
            if (!has_arg || args[i + 1] != "listeners") { ctx.error("'expose-fd' expects 'listeners'"); return; }
            ++i;
            s.expose_fd_listeners = true;
            ctx.warn("'expose-fd listeners' has no effect in skjold (one process reloads in place; "
                     "no file descriptors are passed between processes)");
        } else {
            ctx.error("option '" + o + "' is not supported (mode, level, user, group, expose-fd listeners)");
            return;
        }
    }
    ctx.snap.global.stats_sockets.push_back(std::move(s));
}

void stats_timeout(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    auto v = ctx.time("", args[0]);
    if (!v) return;
    if (*v == 0) { ctx.error("expects a time greater than 0"); return; }
    ctx.snap.global.stats_timeout = *v;
}

void hard_stop_after(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.time("", args[0])) ctx.snap.global.hard_stop_after = *v;
}

void spread_checks(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 0, 50)) ctx.snap.global.spread_checks = static_cast<int>(*v);
}

void tune_bufsize(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    auto v = ctx.size("", args[0], 1u << 30);
    if (!v) return;
    if (*v < 1024) { ctx.error("expects at least 1024 bytes, got " + std::to_string(*v)); return; }
    ctx.snap.global.bufsize = static_cast<std::uint32_t>(*v);
}

void tune_ssl_cachesize(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.integer("", args[0], 0, INT_MAX)) ctx.snap.global.ssl_cachesize = static_cast<int>(*v);
}

void tune_ssl_lifetime(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    if (auto v = ctx.time("", args[0], 1000)) ctx.snap.global.ssl_lifetime = *v;   // bare number: seconds
}

void ssl_default_options(ParseContext& ctx, Args args) {
    bool bind_side = ctx.keyword == "ssl-default-bind-options";
    SslOptions& o = bind_side ? ctx.snap.global.ssl_bind : ctx.snap.global.ssl_server;
    if (args.empty()) { ctx.error("expects at least one option"); return; }
    SslOptions n = o;   // several lines add up, as in HAProxy
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& w = args[i];
        if (w == "ssl-min-ver" || w == "ssl-max-ver") {
            if (i + 1 >= args.size() || !valid_tls_version(args[i + 1])) {
                ctx.error("'" + w + "' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3");
                return;
            }
            (w == "ssl-min-ver" ? n.min_ver : n.max_ver) = args[i + 1];
            n.raw_options.push_back(w);
            n.raw_options.push_back(args[++i]);
        } else if (w == "no-tls-tickets") {
            n.no_tls_tickets = true;
            n.raw_options.push_back(w);
        } else if (w == "no-sslv3" || w == "no-tlsv10" || w == "no-tlsv11" || w == "no-tlsv12" || w == "no-tlsv13" ||
                   (bind_side && w == "prefer-client-ciphers")) {
            n.raw_options.push_back(w);
        } else {
            ctx.error("option '" + w + "' is not supported (ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv10, no-tlsv11, "
                      "no-tlsv12, no-tlsv13, no-tls-tickets" + std::string(bind_side ? ", prefer-client-ciphers" : "") + ")");
            return;
        }
    }
    o = std::move(n);
}

void ssl_default_string(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 1, 1)) return;
    Global& g = ctx.snap.global;
    const std::string& k = ctx.keyword;
    if (k == "ssl-default-bind-ciphers") g.ssl_bind.ciphers = args[0];
    else if (k == "ssl-default-bind-ciphersuites") g.ssl_bind.ciphersuites = args[0];
    else if (k == "ssl-default-server-ciphers") g.ssl_server.ciphers = args[0];
    else if (k == "ssl-default-server-ciphersuites") g.ssl_server.ciphersuites = args[0];
}

void geoip_db(ParseContext& ctx, Args args) {
    if (!ctx.expect_count(args, 2, 2)) return;
    if (!is_valid_name(args[0])) {
        ctx.error("invalid database name '" + args[0] + "' (letters, digits, '-', '_', '.', ':')");
        return;
    }
    for (const auto& db : ctx.snap.global.geoip_dbs) {
        if (db.name == args[0]) {
            ctx.error("database '" + args[0] + "' is already declared at " + db.loc.str());
            return;
        }
    }
    if (!ctx.check_readable("", args[1])) return;
    ctx.snap.global.geoip_dbs.push_back(Global::GeoDb{ctx.loc, args[0], args[1]});
}

void no_effect(ParseContext& ctx, Args) {
    ctx.warn("has no effect in skjold (HAProxy process-model keyword; skjold runs one process with one "
             "pinned worker thread per CPU, see nbthread)");
}

}  // namespace skjold::conf::kw
