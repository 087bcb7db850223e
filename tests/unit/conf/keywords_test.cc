// Every keyword of the table, every bind option and every server option, parsed into the
// Snapshot field it sets. One configuration uses them all; a meta-test checks that it really
// does, so a keyword added to the table without a test fails here.
#include <doctest/doctest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <sstream>

#include "conf/keywords.hh"
#include "conf_test_util.hh"

using namespace skjold::conf;
using namespace skjold::conf::test;

namespace {

// @DIR@ is replaced by a temporary directory holding the files the configuration names.
constexpr std::string_view kAll = R"(global
    daemon
    user haproxy
    group haproxy
    chroot /var/empty
    pidfile /run/skjold.pid
    nbthread 4
    maxconn 5000
    ulimit-n 20000
    log stdout format raw local0 info
    log 127.0.0.1:5140 len 2048 format rfc5424 daemon notice err
    log /dev/log local1
    stats socket @DIR@/admin.sock mode 660 level admin user root group adm expose-fd listeners
    stats timeout 30s
    hard-stop-after 30s
    spread-checks 5
    tune.bufsize 32k
    tune.ssl.cachesize 1000
    tune.ssl.lifetime 600
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-bind-ciphers ECDHE+AESGCM
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256
    ssl-default-server-options no-sslv3 ssl-max-ver TLSv1.3
    ssl-default-server-ciphers HIGH
    ssl-default-server-ciphersuites TLS_AES_256_GCM_SHA384
    geoip-db country @DIR@/country.mmdb
    nbproc 1
    master-worker
    cpu-map auto:1/1-4 0-3

defaults base
    mode http
    log global
    option httplog
    option dontlognull
    option log-health-checks
    option redispatch
    option allbackups
    option http-server-close
    option forwardfor except 10.0.0.0/8 header X-Client
    timeout client 30s
    timeout server 31s
    timeout connect 5s
    timeout http-request 10s
    timeout http-keep-alive 2s
    timeout queue 20s
    timeout check 3s
    timeout tunnel 1h
    timeout client-fin 1s
    timeout server-fin 2s
    retries 5
    maxconn 300
    balance leastconn
    http-reuse aggressive
    errorfile 503 @DIR@/503.http
    monitor-uri /alive
    default-server inter 3s fall 4
    default_backend be_app
    bind-process all

frontend fe_web from base
    bind :8080,127.0.0.1:8081 name web backlog 128 accept-proxy
    bind [::1]:8443 ssl crt @DIR@/cert.pem crt @DIR@/certs alpn h2,http/1.1 ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 ciphers HIGH ciphersuites TLS_AES_128_GCM_SHA256 curves X25519:P-256 no-tls-tickets
    acl is_local src 127.0.0.1
    tcp-request connection accept if is_local
    tcp-request connection reject unless is_local
    http-request deny deny_status 429 if is_local
    http-request return status 200 content-type text/plain string ok
    http-request return status 503 content-type text/html file @DIR@/body.html unless is_local
    http-request redirect scheme https code 301
    http-request set-header X-Set v1
    http-request add-header X-Add v2 if is_local
    http-request del-header X-Del
    http-response set-header X-RSet r1
    http-response add-header X-RAdd r2
    http-response del-header Server
    use_backend be_alt if is_local
    option http-keep-alive
    option httpclose
    no option dontlognull
    disabled
    enabled
    log 127.0.0.2 local2

backend be_app from base
    option httpchk GET /healthz HTTP/1.1
    http-check send meth HEAD uri /ready ver HTTP/1.1 hdr Host example.com
    http-check expect status 200-299
    default-server check rise 3
    server a1 10.0.0.1:80 inter 1s fastinter 500ms downinter 5s rise 1 fall 2 port 8080 addr 10.0.0.11 weight 256 maxconn 50 slowstart 10s observe layer7 error-limit 5 on-error mark-down
    server a2 10.0.0.2:443 backup disabled ssl verify required ca-file @DIR@/ca.pem sni str(app.example) check-ssl alpn h2 send-proxy send-proxy-v2
    no log

backend be_alt
    mode http
    balance random
    timeout connect 1s
    timeout server 1s
    option httpchk /status
    http-check expect rstatus ^2[0-9]{2}$
    http-request use-service prometheus-exporter if { path /metrics }
    server b1 [::1]:8000 weight 0

listen li_tcp
    mode tcp
    bind 127.0.0.1:9000
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    balance source
    server t1 127.0.0.1:9001

frontend fe_tcp
    mode tcp
    bind 127.0.0.1:9100
    option tcplog
)";

struct AllFixture {
    Tempdir dir;
    std::string text;
    LoadResult result;
    AllFixture() {
        dir.write("country.mmdb", "not a real database; only its readability is checked at parse time");
        dir.write("503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
        dir.write("body.html", "<p>down</p>");
        dir.write("cert.pem", "pem");
        dir.write("ca.pem", "pem");
        std::filesystem::create_directory(dir.path() / "certs");
        text = std::string(kAll);
        for (std::size_t p; (p = text.find("@DIR@")) != std::string::npos;) text.replace(p, 5, dir.path().string());
        result = load_string(text, "all.cfg");
    }
};

int line_of(const std::string& text, std::string_view needle) {
    std::size_t p = text.find(needle);
    REQUIRE_MESSAGE(p != std::string::npos, needle);
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p), '\n'));
}

}  // namespace

TEST_CASE("the all-keywords configuration uses every keyword, bind option and server option of the tables") {
    std::string text(kAll);
    std::istringstream in(text);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) {
        std::size_t s = l.find_first_not_of(' ');
        if (s == std::string::npos) continue;
        l = l.substr(s);
        if (l.starts_with("no ")) l = l.substr(3);
        lines.push_back(l + " ");
    }
    for (const auto& k : keyword_table()) {
        bool used = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(std::string(k.name) + " "); });
        CHECK_MESSAGE(used, "keyword not exercised: " << k.name);
    }
    for (const auto& o : bind_option_table()) {
        bool used = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
            return l.starts_with("bind ") && l.find(" " + std::string(o.name) + " ") != std::string::npos;
        });
        CHECK_MESSAGE(used, "bind option not exercised: " << o.name);
    }
    for (const auto& o : server_option_table()) {
        bool used = std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
            return (l.starts_with("server ") || l.starts_with("default-server ")) &&
                   l.find(" " + std::string(o.name) + " ") != std::string::npos;
        });
        CHECK_MESSAGE(used, "server option not exercised: " << o.name);
    }
}

TEST_CASE("the all-keywords configuration loads and warns about the process-model keywords") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    CHECK(s.files == std::vector<std::string>{"all.cfg"});
    CHECK(has_warning(f.result, "all.cfg:27: 'nbproc': has no effect in skjold"));
    CHECK(has_warning(f.result, "all.cfg:28: 'master-worker': has no effect in skjold"));
    CHECK(has_warning(f.result, "all.cfg:29: 'cpu-map': has no effect in skjold"));
    CHECK(has_warning(f.result, "all.cfg:59: 'bind-process': has no effect in skjold"));
    CHECK(has_warning(f.result, "all.cfg:13: 'stats socket': 'expose-fd listeners' has no effect in skjold"));
    CHECK(s.warnings.size() == f.result.warnings.size());
}

TEST_CASE("global keywords set the Global fields") {
    AllFixture f;
    const Global& g = ok(f.result).global;
    CHECK(g.loc.line == 1);
    CHECK(g.daemon);
    CHECK(g.user == "haproxy");
    CHECK(g.group == "haproxy");
    CHECK(g.chroot == "/var/empty");
    CHECK(g.pidfile == "/run/skjold.pid");
    CHECK(g.nbthread == 4);
    CHECK(g.maxconn == 5000);
    CHECK(g.ulimit_n == 20000);
    REQUIRE(g.logs.size() == 3);
    CHECK(g.logs[0].kind == LogTarget::Kind::stdout_);
    CHECK(g.logs[0].format == LogFormat::raw);
    CHECK(g.logs[0].facility == 16);
    CHECK(g.logs[0].level == 6);
    CHECK(g.logs[0].loc.line == 10);
    CHECK(g.logs[1].kind == LogTarget::Kind::udp);
    CHECK(g.logs[1].addr.to_string() == "127.0.0.1:5140");
    CHECK(g.logs[1].maxlen == 2048);
    CHECK(g.logs[1].format == LogFormat::rfc5424);
    CHECK(g.logs[1].facility == 3);
    CHECK(g.logs[1].level == 5);
    CHECK(g.logs[1].minlevel == 3);
    CHECK(g.logs[2].kind == LogTarget::Kind::unix_dgram);
    CHECK(g.logs[2].addr.to_string() == "unix@/dev/log");
    CHECK(g.logs[2].facility == 17);
    CHECK(g.logs[2].level == 7);
    REQUIRE(g.stats_sockets.size() == 1);
    const StatsSocket& ss = g.stats_sockets[0];
    CHECK(ss.addr.is_unix());
    CHECK(ss.addr.to_string() == "unix@" + f.dir / "admin.sock");
    CHECK(ss.mode == 0660);
    CHECK(ss.level == StatsSocket::Level::admin);
    CHECK(ss.user == "root");
    CHECK(ss.group == "adm");
    CHECK(ss.expose_fd_listeners);
    CHECK(g.stats_timeout == 30000);
    CHECK(g.hard_stop_after == 30000);
    CHECK(g.spread_checks == 5);
    CHECK(g.bufsize == 32768);
    CHECK(g.ssl_cachesize == 1000);
    CHECK(g.ssl_lifetime == 600000);
    CHECK(g.ssl_bind.min_ver == "TLSv1.2");
    CHECK(g.ssl_bind.no_tls_tickets);
    CHECK(g.ssl_bind.raw_options == std::vector<std::string>{"ssl-min-ver", "TLSv1.2", "no-tls-tickets"});
    CHECK(g.ssl_bind.ciphers == "ECDHE+AESGCM");
    CHECK(g.ssl_bind.ciphersuites == "TLS_AES_128_GCM_SHA256");
    CHECK(g.ssl_server.max_ver == "TLSv1.3");
    CHECK(g.ssl_server.raw_options == std::vector<std::string>{"no-sslv3", "ssl-max-ver", "TLSv1.3"});
    CHECK(g.ssl_server.ciphers == "HIGH");
    CHECK(g.ssl_server.ciphersuites == "TLS_AES_256_GCM_SHA384");
    REQUIRE(g.geoip_dbs.size() == 1);
    CHECK(g.geoip_dbs[0].name == "country");
    CHECK(g.geoip_dbs[0].file == f.dir / "country.mmdb");
    CHECK(g.geoip_dbs[0].loc.line == 26);
}

TEST_CASE("a named defaults section is inherited through 'from' with every proxy setting") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const Proxy& be = proxy(s, "be_app");
    CHECK(be.is_backend);
    CHECK(!be.is_frontend);
    CHECK(be.mode == Mode::http);
    CHECK(be.option_httplog);
    CHECK(be.option_dontlognull);
    CHECK(be.option_log_health_checks);
    CHECK(be.option_redispatch);
    CHECK(be.option_allbackups);
    CHECK(be.http_conn_mode == HttpConnMode::server_close);
    CHECK(be.forwardfor.enabled);
    CHECK(be.forwardfor.except == std::optional<std::string>("10.0.0.0/8"));
    CHECK(be.forwardfor.header == "X-Client");
    CHECK(be.timeouts.client == 30000);
    CHECK(be.timeouts.server == 31000);
    CHECK(be.timeouts.connect == 5000);
    CHECK(be.timeouts.http_request == 10000);
    CHECK(be.timeouts.http_keep_alive == 2000);
    CHECK(be.timeouts.queue == 20000);
    CHECK(be.timeouts.check == 3000);
    CHECK(be.timeouts.tunnel == 3600000);
    CHECK(be.timeouts.client_fin == 1000);
    CHECK(be.timeouts.server_fin == 2000);
    CHECK(be.retries == 5);
    CHECK(be.balance == Balance::leastconn);
    CHECK(be.http_reuse == HttpReuse::aggressive);
    REQUIRE(be.errorfiles.count(503) == 1);
    CHECK(be.errorfiles.at(503) == "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
    CHECK(be.monitor_uri == "/alive");
    CHECK(be.logs.empty());   // `no log` cleared the inherited `log global`
}

TEST_CASE("frontend keywords set binds, rules, switching and options") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const Proxy& fe = proxy(s, "fe_web");
    CHECK(fe.is_frontend);
    CHECK(!fe.is_backend);
    CHECK(fe.maxconn == 300);
    CHECK(!fe.option_dontlognull);   // `no option dontlognull`
    CHECK(!fe.disabled);             // `disabled` then `enabled`
    CHECK(fe.http_conn_mode == HttpConnMode::close);
    REQUIRE(fe.logs.size() == 4);    // 3 global targets by `log global` in base, then its own
    CHECK(fe.logs[0].kind == LogTarget::Kind::stdout_);
    CHECK(fe.logs[3].addr.to_string() == "127.0.0.2:514");
    CHECK(fe.logs[3].facility == 18);

    REQUIRE(fe.binds.size() == 2);
    const Bind& b0 = fe.binds[0];
    REQUIRE(b0.addrs.size() == 2);
    CHECK(b0.addrs[0].to_string() == "0.0.0.0:8080");
    CHECK(b0.addrs[1].to_string() == "127.0.0.1:8081");
    CHECK(b0.name == "web");
    CHECK(b0.backlog == 128);
    CHECK(b0.accept_proxy);
    CHECK(!b0.ssl);
    const Bind& b1 = fe.binds[1];
    REQUIRE(b1.addrs.size() == 1);
    CHECK(b1.addrs[0].to_string() == "[::1]:8443");
    CHECK(b1.ssl);
    CHECK(b1.crts == std::vector<std::string>{f.dir / "cert.pem", f.dir / "certs"});
    CHECK(b1.alpn == "h2,http/1.1");
    CHECK(b1.ssl_opts.min_ver == "TLSv1.2");
    CHECK(b1.ssl_opts.max_ver == "TLSv1.3");
    CHECK(b1.ssl_opts.ciphers == "HIGH");
    CHECK(b1.ssl_opts.ciphersuites == "TLS_AES_128_GCM_SHA256");
    CHECK(b1.ssl_opts.curves == "X25519:P-256");
    CHECK(b1.ssl_opts.no_tls_tickets);
    CHECK(!b1.accept_proxy);
    CHECK(b1.loc.line == 63);

    REQUIRE(fe.tcp_request_connection.size() == 2);
    CHECK(fe.tcp_request_connection[0].action == Rule::Action::accept);
    CHECK(fe.tcp_request_connection[0].cond.present);
    CHECK(!fe.tcp_request_connection[0].cond.unless);
    CHECK(fe.tcp_request_connection[1].action == Rule::Action::reject);
    CHECK(fe.tcp_request_connection[1].cond.unless);

    REQUIRE(fe.http_request.size() == 7);
    const auto& hr = fe.http_request;
    CHECK(hr[0].action == Rule::Action::deny);
    CHECK(hr[0].status == 429);
    CHECK(hr[0].cond.present);
    CHECK(hr[1].action == Rule::Action::return_);
    CHECK(hr[1].status == 200);
    CHECK(hr[1].content_type == "text/plain");
    CHECK(hr[1].body == "ok");
    CHECK(!hr[1].cond.present);
    CHECK(hr[2].status == 503);
    CHECK(hr[2].body == "<p>down</p>");
    CHECK(hr[2].cond.unless);
    CHECK(hr[3].action == Rule::Action::redirect);
    CHECK(hr[3].redirect == Rule::RedirectKind::scheme);
    CHECK(hr[3].value == "https");
    CHECK(hr[3].status == 301);
    CHECK(hr[4].action == Rule::Action::set_header);
    CHECK(hr[4].name == "X-Set");
    CHECK(hr[4].value == "v1");
    CHECK(hr[5].action == Rule::Action::add_header);
    CHECK(hr[5].cond.present);
    CHECK(hr[6].action == Rule::Action::del_header);
    CHECK(hr[6].name == "X-Del");
    CHECK(hr[6].loc.line == 73);
    REQUIRE(fe.http_response.size() == 3);
    CHECK(fe.http_response[0].action == Rule::Action::set_header);
    CHECK(fe.http_response[1].action == Rule::Action::add_header);
    CHECK(fe.http_response[2].action == Rule::Action::del_header);
    CHECK(fe.http_response[2].name == "Server");

    REQUIRE(fe.use_backends.size() == 1);
    CHECK(fe.use_backends[0].name == "be_alt");
    CHECK(fe.use_backends[0].backend == s.find_proxy("be_alt"));
    CHECK(fe.use_backends[0].cond.present);
    CHECK(fe.default_backend_name == "be_app");
    CHECK(fe.default_backend == s.find_proxy("be_app"));
    CHECK(fe.default_backend_loc.line == 58);   // written in the defaults section
}

TEST_CASE("backend keywords set servers, default-server and health checks") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const Proxy& be = proxy(s, "be_app");
    CHECK(be.httpchk.enabled);
    CHECK(be.httpchk.method == "HEAD");
    CHECK(be.httpchk.uri == "/ready");
    CHECK(be.httpchk.version == "HTTP/1.1");
    CHECK(be.httpchk.headers == std::vector<std::pair<std::string, std::string>>{{"Host", "example.com"}});
    CHECK(be.httpchk.expect == HttpCheck::Expect::status);
    CHECK(be.httpchk.expect_arg == "200-299");
    CHECK(be.default_server.check);
    CHECK(be.default_server.inter == 3000);   // from base's default-server
    CHECK(be.default_server.fall == 4);
    CHECK(be.default_server.rise == 3);
    REQUIRE(be.servers.size() == 2);

    const Server& a1 = be.servers[0];
    CHECK(a1.name == "a1");
    CHECK(a1.id == 0);
    CHECK(a1.loc.line == 90);
    CHECK(a1.addr.to_string() == "10.0.0.1:80");
    CHECK(a1.opt.check);
    CHECK(a1.opt.inter == 1000);
    CHECK(a1.opt.fastinter == 500);
    CHECK(a1.opt.downinter == 5000);
    CHECK(a1.opt.rise == 1);
    CHECK(a1.opt.fall == 2);
    CHECK(a1.opt.check_port == 8080);
    REQUIRE(a1.opt.check_addr.has_value());
    CHECK(a1.opt.check_addr->family() == AF_INET);
    CHECK(a1.opt.weight == 256);
    CHECK(a1.opt.maxconn == 50);
    CHECK(a1.opt.slowstart == 10000);
    CHECK(a1.opt.observe == Observe::layer7);
    CHECK(a1.opt.error_limit == 5);
    CHECK(a1.opt.on_error == OnError::mark_down);
    CHECK(!a1.opt.backup);

    const Server& a2 = be.servers[1];
    CHECK(a2.id == 1);
    CHECK(a2.opt.check);      // from default-server
    CHECK(a2.opt.rise == 3);  // from default-server
    CHECK(a2.opt.fall == 4);  // from the defaults section's default-server
    CHECK(a2.opt.backup);
    CHECK(a2.opt.disabled);
    CHECK(a2.opt.ssl);
    CHECK(a2.opt.verify_required);
    CHECK(a2.opt.ca_file == f.dir / "ca.pem");
    CHECK(a2.opt.sni == "str(app.example)");
    CHECK(a2.opt.check_ssl);
    CHECK(a2.opt.alpn == "h2");
    CHECK(a2.opt.send_proxy);
    CHECK(a2.opt.send_proxy_v2);

    const Proxy& alt = proxy(s, "be_alt");
    CHECK(alt.balance == Balance::random);
    CHECK(alt.httpchk.enabled);
    CHECK(alt.httpchk.method == "OPTIONS");   // one argument is the URI
    CHECK(alt.httpchk.uri == "/status");
    REQUIRE(alt.http_request.size() == 1);
    CHECK(alt.http_request[0].action == Rule::Action::use_service);
    CHECK(alt.http_request[0].name == "prometheus-exporter");
    CHECK(alt.http_request[0].cond.present);
    CHECK(alt.httpchk.version == "HTTP/1.0");
    CHECK(alt.httpchk.expect == HttpCheck::Expect::rstatus);
    CHECK(alt.httpchk.expect_arg == "^2[0-9]{2}$");
    CHECK(alt.option_httplog);   // inherited; meaningful on frontends only
    REQUIRE(alt.servers.size() == 1);
    CHECK(alt.servers[0].addr.to_string() == "[::1]:8000");
    CHECK(alt.servers[0].opt.weight == 0);
    // No `from`: be_alt takes the last defaults section before it (base), default-server included.
    CHECK(alt.servers[0].opt.inter == 3000);
    CHECK(alt.servers[0].opt.fall == 4);
    CHECK(!alt.servers[0].opt.check);   // be_app's own default-server does not leak into be_alt
}

TEST_CASE("option tcplog replaces an inherited option httplog") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const Proxy& fe = proxy(s, "fe_tcp");
    CHECK(fe.option_tcplog);
    CHECK(!fe.option_httplog);
    CHECK(fe.mode == Mode::tcp);
    CHECK(!has_warning(f.result, "'option httplog' not usable with frontend 'fe_tcp'"));
}

TEST_CASE("a listen section has both capabilities") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const Proxy& li = proxy(s, "li_tcp");
    CHECK(li.is_frontend);
    CHECK(li.is_backend);
    CHECK(li.mode == Mode::tcp);
    CHECK(li.balance == Balance::source);
    CHECK(li.binds.size() == 1);
    CHECK(li.servers.size() == 1);
    CHECK(li.maxconn == 300);    // inherited from base
    CHECK(li.default_backend == s.find_proxy("be_app"));   // from the last defaults section
    // HTTP settings inherited by a tcp proxy are ignored with HAProxy's warnings.
    CHECK(!li.option_httplog);
    CHECK(li.option_tcplog);
    CHECK(has_warning(f.result, "'option httplog' not usable with listen 'li_tcp' (needs 'mode http')"));
    CHECK(has_warning(f.result, "'option forwardfor' ignored for listen 'li_tcp' as it requires HTTP mode"));
    CHECK(has_warning(f.result, "'monitor-uri' ignored for listen 'li_tcp' as it requires HTTP mode"));
    CHECK(has_warning(f.result, "in listen 'li_tcp', the 'default_backend' rule always has precedence over the servers"));
}

TEST_CASE("feature uses name the feature, the line and the keyword") {
    AllFixture f;
    const Snapshot& s = ok(f.result);
    const std::string& t = f.text;
    CHECK(has_feature(s, "process", line_of(t, "    daemon")));
    CHECK(has_feature(s, "process", line_of(t, "    user haproxy")));
    CHECK(has_feature(s, "process", line_of(t, "    group haproxy")));
    CHECK(has_feature(s, "process", line_of(t, "    chroot")));
    CHECK(has_feature(s, "log", line_of(t, "    log stdout")));
    CHECK(has_feature(s, "log", line_of(t, "    log global")));
    CHECK(has_feature(s, "stats", line_of(t, "    stats socket")));
    CHECK(has_feature(s, "stats", line_of(t, "    stats timeout")));
    CHECK(has_feature(s, "tls", line_of(t, "    tune.ssl.cachesize")));
    CHECK(has_feature(s, "tls", line_of(t, "    ssl-default-bind-ciphers")));
    CHECK_FALSE(has_feature(s, "geoip", line_of(t, "    geoip-db")));   // runs since issue #4
    CHECK(has_feature(s, "http", line_of(t, "    mode http")));
    CHECK(has_feature(s, "http", line_of(t, "    option httplog")));
    CHECK(has_feature(s, "health", line_of(t, "    option log-health-checks")));
    CHECK(has_feature(s, "http", line_of(t, "    option forwardfor")));
    CHECK(has_feature(s, "http", line_of(t, "    errorfile")));
    CHECK(has_feature(s, "http", line_of(t, "    monitor-uri")));
    CHECK(has_feature(s, "http", line_of(t, "    http-reuse")));
    CHECK(has_feature(s, "health", line_of(t, "    default-server inter 3s")));
    CHECK(has_feature(s, "proxy-protocol", line_of(t, "accept-proxy")));
    CHECK(has_feature(s, "tls", line_of(t, "bind [::1]:8443 ssl")));
    CHECK(has_feature(s, "http", line_of(t, "http-request deny")));
    CHECK(has_feature(s, "http", line_of(t, "http-response del-header")));
    // HTTP health checks run on the checker, not on the HTTP proxy: a tcp backend may use them.
    CHECK_FALSE(has_feature(s, "http", line_of(t, "option httpchk GET")));
    CHECK(has_feature(s, "health", line_of(t, "option httpchk GET")));
    CHECK(has_feature(s, "health", line_of(t, "http-check expect status")));
    CHECK(has_feature(s, "health", line_of(t, "server a1")));
    CHECK(has_feature(s, "slowstart", line_of(t, "server a1")));
    CHECK(has_feature(s, "observe", line_of(t, "server a1")));
    CHECK(has_feature(s, "tls", line_of(t, "server a2")));
    CHECK(has_feature(s, "health", line_of(t, "server a2")));   // check-ssl
    CHECK(has_feature(s, "proxy-protocol", line_of(t, "server a2")));
    // Keyword names in FeatureUse say what triggered it.
    bool named = std::any_of(s.feature_uses.begin(), s.feature_uses.end(), [](const FeatureUse& u) {
        return u.keyword == "server send-proxy-v2" && u.feature == "proxy-protocol";
    });
    CHECK(named);
    // Nothing is tagged for plain tcp use: the tcp sections' lines have no feature use.
    int li = line_of(t, "listen li_tcp");
    for (const auto& u : s.feature_uses) CHECK_MESSAGE(u.loc.line < li, u.keyword << " at " << u.loc.str());
    // A final rule without condition makes the next ones useless: HAProxy's warning.
    CHECK(has_warning(f.result, "all.cfg:" + std::to_string(line_of(t, "http-request return status 503")) +
                                    ": previous 'http-request' action is final and has no condition attached"));
}

TEST_CASE("ACLs whose fetch needs HTTP are feature uses of their line; map_ip() ones are not") {
    Tempdir dir;
    std::string map = dir.write("map.txt", "10.0.0.0/8 NO\n");
    auto r = load("frontend f\n  bind :1\n"
                  "  acl bot hdr_sub(User-Agent) -i curl\n"
                  "  acl nor src,map_ip(" + map + ") NO\n"
                  "  acl local src 127.0.0.1\n"
                  "  tcp-request connection reject if { path_beg /x } METH_GET\n"
                  "  use_backend b if nor\n"
                  "backend b\n");
    const Snapshot& s = ok(r);
    CHECK(has_feature(s, "http", 3));
    CHECK(!has_feature(s, "geoip", 4));   // map_ip() runs since issue #4: nothing to refuse
    CHECK(!has_feature(s, "http", 4));
    CHECK(!has_feature(s, "http", 5));    // src needs neither
    CHECK(!has_feature(s, "geoip", 5));
    CHECK(has_feature(s, "http", 6));     // anonymous ACL and predefined METH_GET
    int on_line_6 = 0;
    for (const auto& u : s.feature_uses)
        if (u.loc.line == 6) ++on_line_6;
    CHECK(on_line_6 == 2);
    CHECK(!has_feature(s, "http", 7));
}
