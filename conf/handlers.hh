#pragma once
// Keyword handlers named by the table in keywords.cc. Internal to conf/: each parses and
// validates the words after its keyword and stores them in the Snapshot (ctx.snap / ctx.px),
// reporting problems through ctx. Files: global_keywords.cc, proxy_keywords.cc,
// http_keywords.cc, bind_keywords.cc, server_keywords.cc.

#include <span>
#include <string>

#include "conf/parse_context.hh"

namespace skjold::conf::kw {

using Args = std::span<const std::string>;

// global
void daemon(ParseContext&, Args);
void user(ParseContext&, Args);
void group(ParseContext&, Args);
void chroot(ParseContext&, Args);
void pidfile(ParseContext&, Args);
void nbthread(ParseContext&, Args);
void global_maxconn(ParseContext&, Args);
void ulimit_n(ParseContext&, Args);
void global_log(ParseContext&, Args);
void stats_socket(ParseContext&, Args);
void stats_timeout(ParseContext&, Args);
void hard_stop_after(ParseContext&, Args);
void spread_checks(ParseContext&, Args);
void tune_bufsize(ParseContext&, Args);
void tune_ssl_cachesize(ParseContext&, Args);
void tune_ssl_lifetime(ParseContext&, Args);
void ssl_default_options(ParseContext&, Args);   // bind and server, by keyword
void ssl_default_string(ParseContext&, Args);    // *-ciphers, *-ciphersuites, by keyword
void geoip_db(ParseContext&, Args);
void no_effect(ParseContext&, Args);             // nbproc, master-worker, cpu-map, bind-process

// proxies
void mode(ParseContext&, Args);
void proxy_maxconn(ParseContext&, Args);
void proxy_log(ParseContext&, Args);
void flag_option(ParseContext&, Args);           // option dontlognull, redispatch, ... by keyword
void log_format_option(ParseContext&, Args);     // option httplog / tcplog
void http_conn_option(ParseContext&, Args);      // option http-keep-alive / http-server-close / httpclose
void timeout(ParseContext&, Args);               // timeout client ... by keyword
void retries(ParseContext&, Args);
void balance(ParseContext&, Args);
void acl(ParseContext&, Args);
void use_backend(ParseContext&, Args);
void default_backend(ParseContext&, Args);
void tcp_request_connection(ParseContext&, Args);
void errorfile(ParseContext&, Args);
void monitor_uri(ParseContext&, Args);
void http_reuse(ParseContext&, Args);
void disabled(ParseContext&, Args);              // disabled / enabled, by keyword

// http rules and checks
void http_rule(ParseContext&, Args);             // http-request X / http-response X, by keyword
void forwardfor(ParseContext&, Args);
void httpchk(ParseContext&, Args);
void http_check_send(ParseContext&, Args);
void http_check_expect(ParseContext&, Args);

// listeners and servers
void bind(ParseContext&, Args);
void server(ParseContext&, Args);
void default_server(ParseContext&, Args);

// Shared helpers.
// Status codes skjold (like HAProxy) can answer by itself: errorfile and deny accept these.
bool is_error_code(int code);
std::string error_code_list();   // "200, 400, ..." for messages
// `log TARGET [len N] [format F] FACILITY [LEVEL [MINLEVEL]]` words after `log`.
bool parse_log_target(ParseContext& ctx, Args args, LogTarget& out);
// args[pos..] is empty or `if|unless COND...`; fills cond. false after an error.
bool parse_rule_condition(ParseContext& ctx, Args args, std::size_t pos, Condition& cond);

}  // namespace skjold::conf::kw
