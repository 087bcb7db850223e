#pragma once
// The validated, immutable configuration: data only, no machinery (like HAProxy's -t.h headers).
// Built by conf/ on the control thread; read (never written) by workers and the control thread.
// Every element keeps where it came from (file:line) for messages.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/condition_types.hh"
#include "core/sock_addr.hh"

namespace skjold::conf {

using Millis = std::int64_t;
inline constexpr Millis kUnset = -1;   // a timeout not set: infinite (HAProxy warns for some)

struct SourceLoc {
    std::string file;
    int line = 0;
    std::string str() const { return file + ":" + std::to_string(line); }
};

enum class Mode : std::uint8_t { tcp, http };
enum class Balance : std::uint8_t { roundrobin, static_rr, leastconn, source, first, random };
enum class HttpConnMode : std::uint8_t { keep_alive, server_close, close };
enum class HttpReuse : std::uint8_t { never, safe, aggressive, always };
// local: HAProxy's default, RFC 3164 without the HOSTNAME field (added for the log sink).
enum class LogFormat : std::uint8_t { raw, rfc3164, rfc5424, local };

struct LogTarget {
    SourceLoc loc;
    enum class Kind : std::uint8_t { stdout_, stderr_, unix_dgram, udp } kind = Kind::stderr_;
    core::SockAddr addr{};          // unix_dgram / udp
    std::uint32_t maxlen = 1024;    // `len N`
    LogFormat format = LogFormat::local;   // HAProxy's default (`format local` is not parsed yet)
    int facility = 16;              // local0
    int level = 7;                  // debug: everything
    int minlevel = 0;
};

struct StatsSocket {
    SourceLoc loc;
    core::SockAddr addr{};
    std::uint32_t mode = 0600;
    enum class Level : std::uint8_t { user, operator_, admin } level = Level::operator_;
    std::string user, group;
    bool expose_fd_listeners = false;   // accepted, no effect (warning)
};

struct SslOptions {                      // bind side and server side share the shape
    std::string min_ver, max_ver;        // "TLSv1.2" ...; empty = default
    std::string ciphers, ciphersuites, curves;
    bool no_tls_tickets = false;
    std::vector<std::string> raw_options; // ssl-default-*-options words as given
};

struct Global {
    SourceLoc loc;
    bool daemon = false;
    std::string user, group, chroot, pidfile;
    int nbthread = 0;                // 0 = the CPUs the process may use
    int maxconn = 0;                 // 0 = derived from ulimit-n (HAProxy's rule)
    int ulimit_n = 0;
    std::vector<LogTarget> logs;
    std::vector<StatsSocket> stats_sockets;
    Millis stats_timeout = 10000;
    Millis hard_stop_after = 5000;   // skjold's default when unset (issue #2)
    int spread_checks = 0;           // percent
    std::uint32_t bufsize = 16384;   // tune.bufsize
    int ssl_cachesize = 20000;       // tune.ssl.cachesize
    Millis ssl_lifetime = 300000;    // tune.ssl.lifetime
    SslOptions ssl_bind, ssl_server; // ssl-default-bind-*, ssl-default-server-*
    struct GeoDb { SourceLoc loc; std::string name, file; };
    std::vector<GeoDb> geoip_dbs;    // `geoip-db NAME FILE`
};

struct Bind {
    SourceLoc loc;
    std::vector<core::SockAddr> addrs;   // "a:1,b:2" gives several
    std::string name;                    // `name`; empty: none
    int backlog = 0;                     // 0 = the frontend's maxconn, as HAProxy
    bool accept_proxy = false;
    bool ssl = false;
    std::vector<std::string> crts;       // files or directories
    std::string alpn;
    SslOptions ssl_opts;
};

struct Timeouts {
    Millis client = kUnset, server = kUnset, connect = kUnset, http_request = kUnset,
           http_keep_alive = kUnset, queue = kUnset, check = kUnset, tunnel = kUnset,
           client_fin = kUnset, server_fin = kUnset;
};

enum class Observe : std::uint8_t { none, layer4, layer7 };
enum class OnError : std::uint8_t { fastinter, fail_check, sudden_death, mark_down };

// `server` options; `default-server` fills the same struct and servers start from it.
struct ServerOptions {
    bool check = false;
    Millis inter = 2000, fastinter = kUnset, downinter = kUnset;
    int rise = 2, fall = 3;
    int check_port = 0;                  // `port`
    std::optional<core::SockAddr> check_addr;   // `addr`
    int weight = 1;
    bool backup = false, disabled = false;
    int maxconn = 0;                     // 0 = unlimited
    Millis slowstart = 0;
    Observe observe = Observe::none;
    int error_limit = 10;
    OnError on_error = OnError::fail_check;
    bool send_proxy = false, send_proxy_v2 = false;
    bool ssl = false, check_ssl = false;
    bool verify_required = true;         // `verify none|required`; HAProxy defaults to required
    std::string ca_file, sni, alpn;
};

struct Server {
    SourceLoc loc;
    std::string name;
    core::SockAddr addr{};
    ServerOptions opt;
    std::uint32_t id = 0;                // index in its backend, stable for stats
};

struct HttpCheck {
    bool enabled = false;                // `option httpchk`
    std::string method = "OPTIONS", uri = "/", version = "HTTP/1.0";
    std::vector<std::pair<std::string, std::string>> headers;   // http-check send hdr
    enum class Expect : std::uint8_t { none, status, rstatus, string } expect = Expect::none;
    std::string expect_arg;
};

struct ForwardFor {
    bool enabled = false;
    std::optional<std::string> except;   // CIDR text; validated at load
    std::optional<geo::Prefix> except_net;   // `except` parsed at load (conf/http_keywords.cc)
    std::string header = "X-Forwarded-For";
};

// A set-header/add-header value or redirect target holding HAProxy log-format: literal text and
// `%[FETCH[,CONVERTER...]]` samples, compiled at load (conf/http_keywords.cc), rendered per
// request by proxy/http_rules.cc.
struct FormatPart {
    std::string literal;                           // when !is_sample
    bool is_sample = false;
    FetchCall fetch;                               // hdr(NAME) without OCC: the last value (-1)
    std::vector<ConverterCall> converters;         // lower, upper
};

// http-request / http-response / tcp-request connection rules
struct Rule {
    SourceLoc loc;
    enum class Action : std::uint8_t {
        accept, reject,                            // tcp-request connection
        deny, return_, redirect, set_header, add_header, del_header,   // http-request/response
        use_service,                               // http-request use-service NAME (`name`:
                                                   // "prometheus-exporter", the one service)
    } action = Action::accept;
    int status = 0;                                // deny_status / return status / redirect code
    std::string content_type, body;                // return
    enum class RedirectKind : std::uint8_t { location, prefix, scheme } redirect = RedirectKind::location;
    std::string name, value;                       // header name/value, redirect target
    std::vector<FormatPart> value_format;          // `value` compiled when it holds '%'; empty:
                                                   // `value` is used as written
    Condition cond;                                // empty: always
};

struct UseBackend {
    SourceLoc loc;
    std::string name;
    int backend = -1;                   // index into Snapshot::proxies, resolved at validation
    Condition cond;
};

struct Proxy {
    SourceLoc loc;
    std::string name;
    bool is_frontend = false, is_backend = false;   // listen = both
    Mode mode = Mode::tcp;
    bool disabled = false;
    int maxconn = 0;                    // 0: unlimited for a backend; frontend default: global
    std::vector<LogTarget> logs;        // `log global` copies the global targets
    bool option_httplog = false, option_tcplog = false, option_dontlognull = false,
         option_log_health_checks = false, option_redispatch = false, option_allbackups = false;
    ForwardFor forwardfor;
    HttpConnMode http_conn_mode = HttpConnMode::keep_alive;
    HttpReuse http_reuse = HttpReuse::safe;
    Timeouts timeouts;
    int retries = 3;

    // frontend side
    std::vector<Bind> binds;
    std::vector<Acl> acls;              // named and anonymous; Term::acl indexes this
    std::vector<Rule> tcp_request_connection;
    std::vector<Rule> http_request, http_response;
    std::vector<UseBackend> use_backends;
    int default_backend = -1;           // index into Snapshot::proxies
    std::string default_backend_name;
    std::map<int, std::string> errorfiles;   // status -> raw HTTP response bytes, read at load
    std::string monitor_uri;
    SourceLoc default_backend_loc;      // where default_backend was set (maybe a defaults section)

    // backend side
    Balance balance = Balance::roundrobin;
    HttpCheck httpchk;
    ServerOptions default_server;
    std::vector<Server> servers;
};

// A keyword whose runtime comes with a later issue: recorded at parse time so that starting
// (not `-c`) can refuse it with FILE:LINE instead of silently ignoring it.
struct FeatureUse {
    std::string feature;                // "http", "tls", "health", "stats", "log", "geoip", "proxy-protocol", "process"
    SourceLoc loc;
    std::string keyword;
};

struct Snapshot {
    std::vector<std::string> files;     // the -f files, in order
    Global global;
    std::vector<Proxy> proxies;         // frontends, backends and listens in file order
    std::vector<std::string> warnings;  // FILE:LINE: message
    std::vector<FeatureUse> feature_uses;
    // map_ip() / geoip() tables, one per distinct map file or (database, field), loaded after
    // parsing (conf/condition.cc); ConverterCall::table indexes this.
    std::vector<std::shared_ptr<const geo::ValueTable>> geo_tables;

    int find_proxy(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < proxies.size(); ++i)
            if (proxies[i].name == name) return static_cast<int>(i);
        return -1;
    }
};

}  // namespace skjold::conf
