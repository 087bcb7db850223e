// The keyword table. Section masks follow HAProxy 2.6's matrix (configuration.txt 4.1).
// Feature tags: see FeatureUse in snapshot_types.hh; a comma separates several.
#include "conf/keywords.hh"

#include <algorithm>
#include <array>

#include "conf/handlers.hh"

namespace skjold::conf {

namespace {

constexpr std::uint8_t G = kInGlobal, D = kInDefaults, F = kInFrontend, B = kInBackend;
constexpr std::uint8_t DFB = D | F | B;

constexpr std::string_view kLogSynopsis =
    "TARGET [len N] [format raw|rfc3164|rfc5424] FACILITY [LEVEL [MINLEVEL]]";

const KeywordInfo kTable[] = {
    // ---- global ----
    {"daemon", G, "", kw::daemon, "Fork into the background after start-up.", "process"},
    {"user", G, "NAME", kw::user, "Switch to this user after binding listeners.", "process"},
    {"group", G, "NAME", kw::group, "Switch to this group after binding listeners.", "process"},
    {"chroot", G, "DIR", kw::chroot, "chroot(2) into DIR after start-up.", "process"},
    {"pidfile", G, "FILE", kw::pidfile, "Write the process id to FILE.", ""},
    {"nbthread", G, "N", kw::nbthread, "Number of worker threads, 1..1024 (default: the CPUs the process may use).", ""},
    {"maxconn", G, "N", kw::global_maxconn, "Process-wide limit of concurrent client connections.", ""},
    {"ulimit-n", G, "N", kw::ulimit_n, "Set the file descriptor limit (RLIMIT_NOFILE).", ""},
    {"log", G, kLogSynopsis, kw::global_log, "Add a global log target (used by 'log global').", "log"},
    {"stats socket", G,
     "PATH|ADDR:PORT [mode OCTAL] [level user|operator|admin] [user U] [group G] [expose-fd listeners]",
     kw::stats_socket, "Serve the stats/admin command socket.", "stats"},
    {"stats timeout", G, "TIME", kw::stats_timeout, "Idle timeout of stats socket sessions (default 10s).", "stats"},
    {"hard-stop-after", G, "TIME", kw::hard_stop_after, "Longest graceful stop before remaining sessions are cut (default 5s).", ""},
    {"spread-checks", G, "PERCENT", kw::spread_checks, "Randomise health check intervals by +/- 0..50%.", ""},
    {"tune.bufsize", G, "SIZE", kw::tune_bufsize, "Buffer size per direction (default 16384).", ""},
    {"tune.ssl.cachesize", G, "N", kw::tune_ssl_cachesize, "TLS session cache entries (default 20000, 0 disables).", "tls"},
    {"tune.ssl.lifetime", G, "TIME", kw::tune_ssl_lifetime, "TLS session lifetime; a bare number is seconds (default 300).", "tls"},
    {"ssl-default-bind-options", G, "OPTION...", kw::ssl_default_options, "TLS options for every 'bind ... ssl'.", "tls"},
    {"ssl-default-bind-ciphers", G, "LIST", kw::ssl_default_string, "Default TLS 1.2 cipher list of listeners.", "tls"},
    {"ssl-default-bind-ciphersuites", G, "LIST", kw::ssl_default_string, "Default TLS 1.3 cipher suites of listeners.", "tls"},
    {"ssl-default-server-options", G, "OPTION...", kw::ssl_default_options, "TLS options for every 'server ... ssl'.", "tls"},
    {"ssl-default-server-ciphers", G, "LIST", kw::ssl_default_string, "Default TLS 1.2 cipher list towards servers.", "tls"},
    {"ssl-default-server-ciphersuites", G, "LIST", kw::ssl_default_string, "Default TLS 1.3 cipher suites towards servers.", "tls"},
    {"geoip-db", G, "NAME FILE", kw::geoip_db, "Load a MaxMind database for the geoip() converter (skjold's own).", ""},
    {"nbproc", G, "N", kw::no_effect, "HAProxy process model; accepted with a warning, no effect.", "", kNoEffect},
    {"master-worker", G, "", kw::no_effect, "HAProxy process model; accepted with a warning, no effect.", "", kNoEffect},
    {"cpu-map", G, "...", kw::no_effect, "HAProxy CPU binding; accepted with a warning, no effect (workers pin themselves).", "", kNoEffect},

    // ---- proxies: general ----
    {"mode", DFB, "tcp|http", kw::mode, "Layer 4 relay or HTTP processing (default tcp).", ""},
    {"maxconn", D | F, "N", kw::proxy_maxconn, "Concurrent connections a frontend accepts (default: global maxconn).", ""},
    {"log", DFB, "global | TARGET [len N] [format raw|rfc3164|rfc5424] FACILITY [LEVEL [MINLEVEL]]", kw::proxy_log,
     "Log to the global targets or to TARGET; 'no log' clears inherited targets.", "log", kNegatable},
    {"option httplog", D | F, "", kw::log_format_option, "HTTP access log format.", "http"},
    {"option tcplog", D | F, "", kw::log_format_option, "TCP access log format.", ""},
    {"option dontlognull", D | F, "", kw::flag_option, "Do not log connections that sent no data.", "", kNegatable},
    {"option log-health-checks", D | B, "", kw::flag_option, "Log every health check state change.", "health", kNegatable},
    {"disabled", DFB, "", kw::disabled, "Disable the proxy (no listener, nbsrv() is 0).", ""},
    {"enabled", DFB, "", kw::disabled, "Enable a proxy disabled by its defaults.", ""},
    {"bind-process", DFB, "...", kw::no_effect, "HAProxy process model; accepted with a warning, no effect.", "", kNoEffect},

    // ---- listeners and routing ----
    {"bind", F, "ADDR:PORT[,ADDR:PORT...] [OPTION...]", kw::bind, "Listen on these addresses (see BIND OPTIONS).", ""},
    {"acl", DFB, "NAME FETCH[,CONVERTER...] [FLAGS] [OPERATOR] [VALUE...]", kw::acl,
     "Declare or extend a named ACL (see CONDITIONS).", "", kNamedDefaultsOnly},
    {"use_backend", F, "BACKEND [if|unless COND]", kw::use_backend, "Switch to BACKEND when the condition holds.", ""},
    {"default_backend", D | F, "BACKEND", kw::default_backend, "Backend used when no use_backend rule matched.", ""},
    {"tcp-request connection", D | F, "accept|reject [if|unless COND]", kw::tcp_request_connection,
     "Accept or reject a connection as soon as it is accepted.", "", kNamedDefaultsOnly},

    // ---- timeouts ----
    {"timeout client", D | F, "TIME", kw::timeout, "Client inactivity timeout.", ""},
    {"timeout server", D | B, "TIME", kw::timeout, "Server inactivity timeout.", ""},
    {"timeout connect", D | B, "TIME", kw::timeout, "Time allowed to connect to a server.", ""},
    {"timeout http-request", DFB, "TIME", kw::timeout, "Time allowed to receive a whole HTTP request head.", ""},
    {"timeout http-keep-alive", DFB, "TIME", kw::timeout, "Idle time allowed between two HTTP requests.", ""},
    {"timeout queue", D | B, "TIME", kw::timeout, "Time a connection may wait for a server slot.", ""},
    {"timeout check", D | B, "TIME", kw::timeout, "Read timeout of a health check once connected.", ""},
    {"timeout tunnel", D | B, "TIME", kw::timeout, "Inactivity timeout of tunnels (takes over client/server).", ""},
    {"timeout client-fin", D | F, "TIME", kw::timeout, "Inactivity timeout once the client side is half-closed.", ""},
    {"timeout server-fin", D | B, "TIME", kw::timeout, "Inactivity timeout once the server side is half-closed.", ""},

    // ---- backends ----
    {"balance", D | B, "roundrobin|static-rr|leastconn|source|first|random", kw::balance,
     "Load-balancing algorithm (default roundrobin).", ""},
    {"retries", D | B, "N", kw::retries, "Connection attempts retried after a failure (default 3).", ""},
    {"option redispatch", D | B, "", kw::flag_option, "Retry on another server after a failed connection.", "", kNegatable},
    {"option allbackups", D | B, "", kw::flag_option, "Use every usable backup server, not only the first.", "", kNegatable},
    {"server", B, "NAME ADDR:PORT [OPTION...]", kw::server, "Declare a server (see SERVER OPTIONS).", "", kStrictCapability},
    {"default-server", D | B, "[OPTION...]", kw::default_server, "Default options for the following 'server' lines.", "",
     kStrictCapability},
    {"option httpchk", D | B, "[METHOD] [URI] [VERSION]", kw::httpchk,
     "HTTP health checks (default OPTIONS / HTTP/1.0; 2xx and 3xx pass).", "health"},
    {"http-check send", D | B, "[meth METHOD] [uri URI] [ver VERSION] [hdr NAME VALUE]...", kw::http_check_send,
     "Method, URI, version and headers of HTTP health checks.", "health"},
    {"http-check expect", D | B, "status CODES | rstatus REGEX | string TEXT", kw::http_check_expect,
     "What an HTTP health check response must show to pass.", "health"},

    // ---- HTTP ----
    {"http-request deny", DFB, "[deny_status N] [if|unless COND]", kw::http_rule, "Answer with an error (default 403).",
     "http", kNamedDefaultsOnly},
    {"http-request return", DFB, "[status N] [content-type TYPE] [string TEXT | file FILE] [if|unless COND]",
     kw::http_rule, "Answer with this response.", "http", kNamedDefaultsOnly},
    {"http-request redirect", DFB, "location|prefix|scheme TARGET [code N] [if|unless COND]", kw::http_rule,
     "Answer with a redirect (default code 302).", "http", kNamedDefaultsOnly},
    {"http-request set-header", DFB, "NAME VALUE [if|unless COND]", kw::http_rule, "Replace a request header.", "http",
     kNamedDefaultsOnly},
    {"http-request use-service", DFB, "prometheus-exporter [if|unless COND]", kw::http_rule,
     "Answer with a service: HAProxy's Prometheus exporter page.", "http", kNamedDefaultsOnly},
    {"http-request add-header", DFB, "NAME VALUE [if|unless COND]", kw::http_rule, "Append a request header.", "http",
     kNamedDefaultsOnly},
    {"http-request del-header", DFB, "NAME [if|unless COND]", kw::http_rule, "Remove a request header.", "http",
     kNamedDefaultsOnly},
    {"http-response set-header", DFB, "NAME VALUE [if|unless COND]", kw::http_rule, "Replace a response header.", "http",
     kNamedDefaultsOnly},
    {"http-response add-header", DFB, "NAME VALUE [if|unless COND]", kw::http_rule, "Append a response header.", "http",
     kNamedDefaultsOnly},
    {"http-response del-header", DFB, "NAME [if|unless COND]", kw::http_rule, "Remove a response header.", "http",
     kNamedDefaultsOnly},
    {"option forwardfor", DFB, "[except NETWORK] [header NAME]", kw::forwardfor,
     "Add X-Forwarded-For with the client address.", "http"},
    {"option http-keep-alive", DFB, "", kw::http_conn_option, "Keep client and server connections open (default).",
     "http", kNegatable},
    {"option http-server-close", DFB, "", kw::http_conn_option, "Close the server connection after each response.",
     "http", kNegatable},
    {"option httpclose", DFB, "", kw::http_conn_option, "Close both connections after each response.", "http",
     kNegatable},
    {"http-reuse", D | B, "never|safe|aggressive|always", kw::http_reuse, "Sharing of idle server connections (default safe).",
     "http"},
    {"errorfile", DFB, "CODE FILE", kw::errorfile, "Answer error CODE with the HTTP response in FILE.", "http"},
    {"monitor-uri", D | F, "URI", kw::monitor_uri, "Answer 200 to requests for URI (a liveness probe).", "http"},
};

}  // namespace

std::span<const KeywordInfo> keyword_table() { return kTable; }

bool is_keyword_family(std::string_view first) {
    static constexpr std::array<std::string_view, 12> kOthers = {
        "tcp-response", "tcp-check", "http-after-response", "capture", "stick", "email-alert",
        "external-check", "rate-limit", "persist", "http-error", "monitor", "tcp-request"};
    if (std::find(kOthers.begin(), kOthers.end(), first) != kOthers.end()) return true;
    for (const auto& k : kTable) {
        std::string_view n = k.name;
        if (n.size() > first.size() && n.starts_with(first) && n[first.size()] == ' ') return true;
    }
    return false;
}

}  // namespace skjold::conf
