// `bind ADDR[,ADDR...] [options]` and its option table (configuration.txt 5.1).
#include <climits>

#include "conf/handlers.hh"
#include "conf/values.hh"
#include "core/sock_addr.hh"

namespace skjold::conf {

namespace {

bool valid_tls_version(std::string_view v) {
    return v == "SSLv3" || v == "TLSv1.0" || v == "TLSv1.1" || v == "TLSv1.2" || v == "TLSv1.3";
}

// "h2,http/1.1": non-empty protocol names of at most 255 bytes (the ALPN wire limit).
bool valid_alpn(std::string_view s) {
    if (s.empty()) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t comma = s.find(',', start);
        std::size_t len = (comma == std::string_view::npos ? s.size() : comma) - start;
        if (len == 0 || len > 255) return false;
        if (comma == std::string_view::npos) return true;
        start = comma + 1;
    }
}

void opt_ssl(ParseContext&, Bind& b, std::string_view) { b.ssl = true; }
void opt_crt(ParseContext& ctx, Bind& b, std::string_view v) {
    if (ctx.check_readable("crt", std::string(v))) b.crts.emplace_back(v);
}
void opt_alpn(ParseContext& ctx, Bind& b, std::string_view v) {
    if (!valid_alpn(v)) { ctx.error("'alpn' expects a comma-separated protocol list, got '" + std::string(v) + "'"); return; }
    b.alpn = v;
}
void opt_min_ver(ParseContext& ctx, Bind& b, std::string_view v) {
    if (!valid_tls_version(v)) { ctx.error("'ssl-min-ver': '" + std::string(v) + "': unknown ssl/tls version"); return; }
    b.ssl_opts.min_ver = v;
}
void opt_max_ver(ParseContext& ctx, Bind& b, std::string_view v) {
    if (!valid_tls_version(v)) { ctx.error("'ssl-max-ver': '" + std::string(v) + "': unknown ssl/tls version"); return; }
    b.ssl_opts.max_ver = v;
}
void opt_ciphers(ParseContext&, Bind& b, std::string_view v) { b.ssl_opts.ciphers = v; }
void opt_ciphersuites(ParseContext&, Bind& b, std::string_view v) { b.ssl_opts.ciphersuites = v; }
void opt_curves(ParseContext&, Bind& b, std::string_view v) { b.ssl_opts.curves = v; }
void opt_no_tls_tickets(ParseContext&, Bind& b, std::string_view) { b.ssl_opts.no_tls_tickets = true; }
void opt_accept_proxy(ParseContext&, Bind& b, std::string_view) { b.accept_proxy = true; }
void opt_name(ParseContext& ctx, Bind& b, std::string_view v) {
    if (v.empty()) { ctx.error("'name' expects a non-empty name"); return; }
    b.name = v;
}
void opt_backlog(ParseContext& ctx, Bind& b, std::string_view v) {
    if (auto n = ctx.integer("backlog", v, 1, INT_MAX)) b.backlog = static_cast<int>(*n);
}

constexpr BindOptionInfo kBindOptions[] = {
    {"ssl", "", 0, opt_ssl, "Terminate TLS on this listener (needs at least one crt).", "tls"},
    {"crt", "FILE|DIR", 1, opt_crt, "Certificate and key (PEM) or a directory of them; repeatable.", "tls"},
    {"alpn", "LIST", 1, opt_alpn, "ALPN protocols offered, comma-separated (e.g. h2,http/1.1).", "tls"},
    {"ssl-min-ver", "VERSION", 1, opt_min_ver, "Lowest TLS version accepted (SSLv3, TLSv1.0 ... TLSv1.3).", "tls"},
    {"ssl-max-ver", "VERSION", 1, opt_max_ver, "Highest TLS version accepted.", "tls"},
    {"ciphers", "LIST", 1, opt_ciphers, "OpenSSL cipher list for TLS 1.2 and below.", "tls"},
    {"ciphersuites", "LIST", 1, opt_ciphersuites, "OpenSSL TLS 1.3 cipher suites.", "tls"},
    {"curves", "LIST", 1, opt_curves, "Elliptic curves for ECDHE, colon-separated.", "tls"},
    {"no-tls-tickets", "", 0, opt_no_tls_tickets, "Disable stateless session resumption (RFC 5077 tickets).", "tls"},
    {"accept-proxy", "", 0, opt_accept_proxy, "Require a PROXY protocol v1 or v2 header on every connection.",
     "proxy-protocol"},
    {"name", "NAME", 1, opt_name, "Listener name, shown in logs, stats and the ready file.", ""},
    {"backlog", "N", 1, opt_backlog, "listen(2) backlog; default: the frontend's maxconn.", ""},
};

}  // namespace

std::span<const BindOptionInfo> bind_option_table() { return kBindOptions; }

namespace kw {

void bind(ParseContext& ctx, Args args) {
    if (args.empty()) { ctx.error("expects an address (ADDR:PORT[,ADDR:PORT...])"); return; }
    Bind b;
    b.loc = ctx.loc;
    std::string_view list = args[0];
    while (true) {
        std::size_t comma = list.find(',');
        std::string_view one = list.substr(0, comma);
        auto a = core::parse_sock_addr(one, core::PortRule::required);
        if (!a) {
            ctx.error("invalid address '" + std::string(one) + "': " + a.error().detail);
            return;
        }
        b.addrs.push_back(*a);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        const BindOptionInfo* info = nullptr;
        for (const auto& o : bind_option_table())
            if (o.name == args[i]) info = &o;
        if (info == nullptr) {
            ctx.error("option '" + args[i] + "' is not supported");
            return;
        }
        std::string_view v;
        if (info->nargs == 1) {
            if (i + 1 >= args.size()) { ctx.error("'" + args[i] + "' expects " + std::string(info->synopsis)); return; }
            v = args[++i];
        }
        info->apply(ctx, b, v);
        if (ctx.failed()) return;
        if (!info->feature.empty()) ctx.use(info->feature, "bind " + std::string(info->name));
    }
    if (b.ssl && b.crts.empty()) {
        ctx.error("no SSL certificate specified for bind '" + args[0] + "' (use 'crt')");
        return;
    }
    ctx.px->binds.push_back(std::move(b));
}

}  // namespace kw
}  // namespace skjold::conf
