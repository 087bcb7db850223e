// HAProxy's defaults semantics: inheritance from the last defaults section or from a named one,
// `no option`, `log global`, frontend maxconn, default-server, rules in named defaults.
#include <doctest/doctest.h>

#include "conf_test_util.hh"

using namespace skjold::conf;
using namespace skjold::conf::test;

TEST_CASE("a proxy inherits every setting of the last defaults section before it") {
    Tempdir dir;
    std::string ef = dir.write("503.http", "HTTP/1.0 503 Busy\r\n\r\n");
    auto r = load("global\n  log stderr local3\n"
                  "defaults\n  mode http\n  log global\n  retries 9\n  balance first\n  maxconn 77\n"
                  "  timeout client 3s\n  timeout server 4s\n  timeout connect 2s\n  timeout check 1s\n"
                  "  option redispatch\n  option allbackups\n  option httplog\n  option http-server-close\n"
                  "  option forwardfor\n  option httpchk GET /hc\n  http-reuse never\n  monitor-uri /up\n"
                  "  errorfile 503 " + ef + "\n  default-server inter 9s weight 7\n  default_backend be\n"
                  "frontend fe\n  bind :1\n"
                  "backend be\n  server s 127.0.0.1:1\n");
    const Snapshot& s = ok(r);
    for (const char* name : {"fe", "be"}) {
        INFO(name);
        const Proxy& p = proxy(s, name);
        CHECK(p.mode == Mode::http);
        REQUIRE(p.logs.size() == 1);
        CHECK(p.logs[0].kind == LogTarget::Kind::stderr_);
        CHECK(p.logs[0].facility == 19);
        CHECK(p.retries == 9);
        CHECK(p.balance == Balance::first);
        CHECK(p.timeouts.client == 3000);
        CHECK(p.timeouts.server == 4000);
        CHECK(p.timeouts.connect == 2000);
        CHECK(p.timeouts.check == 1000);
        CHECK(p.option_redispatch);
        CHECK(p.option_allbackups);
        CHECK(p.option_httplog);
        CHECK(p.http_conn_mode == HttpConnMode::server_close);
        CHECK(p.forwardfor.enabled);
        CHECK(p.httpchk.enabled);
        CHECK(p.httpchk.method == "GET");
        CHECK(p.httpchk.uri == "/hc");
        CHECK(p.http_reuse == HttpReuse::never);
        CHECK(p.monitor_uri == "/up");
        CHECK(p.errorfiles.at(503) == "HTTP/1.0 503 Busy\r\n\r\n");
        CHECK(p.default_server.inter == 9000);
        CHECK(p.default_server.weight == 7);
    }
    CHECK(proxy(s, "fe").maxconn == 77);
    CHECK(proxy(s, "fe").default_backend == s.find_proxy("be"));
    const Server& srv = proxy(s, "be").servers.at(0);
    CHECK(srv.opt.inter == 9000);
    CHECK(srv.opt.weight == 7);
}

TEST_CASE("a new defaults section starts from HAProxy's built-in defaults, not from the previous one") {
    auto s_r = load("defaults\n  mode http\n  retries 7\n  timeout client 1s\n"
                                "defaults\n  timeout connect 5s\n"
                                "backend b\n");
    const Snapshot& s = ok(s_r);
    const Proxy& b = proxy(s, "b");
    CHECK(b.mode == Mode::tcp);
    CHECK(b.retries == 3);
    CHECK(b.timeouts.client == kUnset);
    CHECK(b.timeouts.connect == 5000);
    CHECK(b.default_server.inter == 2000);
    CHECK(b.default_server.rise == 2);
    CHECK(b.default_server.fall == 3);
    CHECK(b.balance == Balance::roundrobin);
    CHECK(b.http_reuse == HttpReuse::safe);
}

TEST_CASE("'from' picks a named defaults section, and defaults sections can inherit from each other") {
    auto r = load("defaults tcp_base\n  mode tcp\n  retries 1\n"
                  "defaults http_base from tcp_base\n  mode http\n"
                  "defaults last\n  retries 8\n"
                  "backend a from tcp_base\n"
                  "backend b from http_base\n"
                  "backend c\n");
    const Snapshot& s = ok(r);
    CHECK(proxy(s, "a").mode == Mode::tcp);
    CHECK(proxy(s, "a").retries == 1);
    CHECK(proxy(s, "b").mode == Mode::http);
    CHECK(proxy(s, "b").retries == 1);   // through http_base from tcp_base
    CHECK(proxy(s, "c").mode == Mode::tcp);
    CHECK(proxy(s, "c").retries == 8);   // the last one
}

TEST_CASE("mixing explicit and implicit use of one defaults section warns, as in HAProxy") {
    auto r = load("defaults d\n  retries 2\nbackend a from d\nbackend b\n");
    ok(r);
    CHECK(has_warning(r, "t.cfg:4: defaults section 'd' (t.cfg:1) is used both explicitly ('from') and implicitly"));
}

TEST_CASE("'no option' clears an inherited option") {
    auto s_r = load("defaults\n  option redispatch\n  option allbackups\n  option dontlognull\n"
                                "  option log-health-checks\n"
                                "listen l\n  bind :1\n  no option redispatch\n  no option allbackups\n"
                                "  no option dontlognull\n  no option log-health-checks\n");
    const Snapshot& s = ok(s_r);
    const Proxy& l = proxy(s, "l");
    CHECK(!l.option_redispatch);
    CHECK(!l.option_allbackups);
    CHECK(!l.option_dontlognull);
    CHECK(!l.option_log_health_checks);
}

TEST_CASE("'no option' on an HTTP connection mode restores keep-alive only when that mode was set") {
    auto s_r = load("defaults\n  mode http\n  option httpclose\n"
                                "backend a\n  no option httpclose\n"
                                "backend b\n  no option http-server-close\n"
                                "backend c\n  option http-server-close\n  no option http-keep-alive\n");
    const Snapshot& s = ok(s_r);
    CHECK(proxy(s, "a").http_conn_mode == HttpConnMode::keep_alive);
    CHECK(proxy(s, "b").http_conn_mode == HttpConnMode::close);
    CHECK(proxy(s, "c").http_conn_mode == HttpConnMode::server_close);
}

TEST_CASE("'log global' copies the global targets where it is written and 'no log' drops inherited ones") {
    auto s_r = load("global\n  log stdout local0\n  log 127.0.0.1 local1\n"
                                "defaults\n  log global\n"
                                "backend a\n  log stderr local2\n"
                                "backend b\n  no log\n  log stderr local4\n"
                                "backend c\n  no log\n");
    const Snapshot& s = ok(s_r);
    const Proxy& a = proxy(s, "a");
    REQUIRE(a.logs.size() == 3);
    CHECK(a.logs[0].kind == LogTarget::Kind::stdout_);
    CHECK(a.logs[1].addr.to_string() == "127.0.0.1:514");
    CHECK(a.logs[2].kind == LogTarget::Kind::stderr_);
    const Proxy& b = proxy(s, "b");
    REQUIRE(b.logs.size() == 1);
    CHECK(b.logs[0].facility == 20);
    CHECK(proxy(s, "c").logs.empty());
}

TEST_CASE("a frontend's maxconn defaults to the global maxconn; a backend has none") {
    auto s_r = load("global\n  maxconn 4242\n"
                                "frontend f\n  bind :1\n"
                                "frontend g\n  bind :2\n  maxconn 10\n"
                                "backend b\n");
    const Snapshot& s = ok(s_r);
    CHECK(proxy(s, "f").maxconn == 4242);
    CHECK(proxy(s, "g").maxconn == 10);
    CHECK(proxy(s, "b").maxconn == 0);
    auto s2_r = load("frontend f\n  bind :1\n");
    const Snapshot& s2 = ok(s2_r);
    CHECK(s2.proxies[0].maxconn == 0);   // no global maxconn either: the runtime derives it
}

TEST_CASE("default-server applies to the server lines after it only") {
    auto s_r = load("backend b\n  server s1 127.0.0.1:1\n  default-server weight 5 backup\n"
                                "  server s2 127.0.0.1:2\n  default-server weight 6\n  server s3 127.0.0.1:3 weight 1\n");
    const Snapshot& s = ok(s_r);
    const Proxy& b = proxy(s, "b");
    REQUIRE(b.servers.size() == 3);
    CHECK(b.servers[0].opt.weight == 1);
    CHECK(!b.servers[0].opt.backup);
    CHECK(b.servers[1].opt.weight == 5);
    CHECK(b.servers[1].opt.backup);
    CHECK(b.servers[2].opt.weight == 1);   // its own option wins
    CHECK(b.servers[2].opt.backup);        // default-server lines add up
}

TEST_CASE("a timeout of 0 means no timeout, as in HAProxy") {
    auto s_r = load("defaults\n  timeout client 5s\nfrontend f\n  bind :1\n  timeout client 0\n");
    const Snapshot& s = ok(s_r);
    CHECK(s.proxies[0].timeouts.client == kUnset);
}

TEST_CASE("rules of a named defaults section run before the proxy's own; its ACLs stay private") {
    auto s_r = load("defaults web\n  mode http\n  acl local src 127.0.0.1\n"
                                "  http-request deny if local\n  tcp-request connection reject unless local\n"
                                "frontend f from web\n  bind :1\n  http-request set-header X-A 1\n");
    const Snapshot& s = ok(s_r);
    const Proxy& f = proxy(s, "f");
    REQUIRE(f.http_request.size() == 2);
    CHECK(f.http_request[0].action == Rule::Action::deny);
    CHECK(f.http_request[0].loc.line == 4);
    CHECK(f.http_request[1].action == Rule::Action::set_header);
    REQUIRE(f.tcp_request_connection.size() == 1);
    // The inherited condition still points at the inherited (now unnamed) ACL.
    REQUIRE(f.http_request[0].cond.any_of.size() == 1);
    std::uint32_t idx = f.http_request[0].cond.any_of[0][0].acl;
    REQUIRE(idx < f.acls.size());
    CHECK(f.acls[idx].name.empty());

    auto hidden = load("defaults web\n  acl local src 127.0.0.1\n"
                       "frontend f from web\n  bind :1\n  tcp-request connection reject if local\n");
    CHECK(one_error(hidden).starts_with("t.cfg:5: 'tcp-request connection': "));
}

TEST_CASE("a defaults section with rules cannot serve a listen section, nor both sides") {
    CHECK(one_error(load("defaults web\n  http-request deny\nlisten l\n  bind :1\n")) ==
          "t.cfg:3: 'listen': a listen section cannot inherit from a defaults section defining TCP/HTTP rules "
          "(defaults section at t.cfg:1)");
    CHECK(one_error(load("defaults web\n  http-request deny\nfrontend f\n  bind :1\nbackend b\n")) ==
          "t.cfg:5: 'backend': frontends and backends cannot inherit from the same defaults section if it defines "
          "TCP/HTTP rules (defaults section at t.cfg:1)");
    // Without rules, one defaults section serves everything.
    {
        auto r_ = load("defaults web\n  acl x src 1.2.3.4\n  mode http\nlisten l\n  bind :1\nfrontend f\n  bind :2\nbackend b\n");
        ok(r_);
    }
}

TEST_CASE("tcp-request connection rules inherited by a backend are dropped (backends have no connection phase)") {
    auto s_r = load("defaults d\n  tcp-request connection reject\nbackend b from d\n");
    const Snapshot& s = ok(s_r);
    CHECK(proxy(s, "b").tcp_request_connection.empty());
}
