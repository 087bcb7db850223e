// Every error message, with the FILE:LINE it names. Each case is a small configuration with
// exactly one problem; the expected text is the whole message.
#include <doctest/doctest.h>

#include "conf_test_util.hh"

using namespace skjold::conf;
using namespace skjold::conf::test;

namespace {

struct Case {
    const char* text;
    const char* error;
};

void check_cases(std::initializer_list<Case> cases) {
    for (const auto& c : cases) {
        INFO("config:\n" << std::string(c.text));
        CHECK(one_error(load(c.text)) == std::string(c.error));
    }
}

}  // namespace

TEST_CASE("lexer errors are reported with their line and the rest of the file is still checked") {
    auto r = load("global\n  user \"abc\n  maxconn x\n");
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].str() == "t.cfg:2: unmatched quote");
    CHECK(r.errors[1].str() == "t.cfg:3: 'maxconn': 'x' is not an integer between 1 and 2147483647");
    CHECK(r.snapshot == nullptr);
}

TEST_CASE("section errors") {
    check_cases({
        {"maxconn 10\n", "t.cfg:1: 'maxconn' is outside of any section (global, defaults, frontend, backend, listen)"},
        {"global foo\n", "t.cfg:1: 'global': unexpected argument 'foo'"},
        {"frontend\n", "t.cfg:1: 'frontend' expects a name"},
        {"backend a/b\n", "t.cfg:1: 'backend': invalid name 'a/b' (letters, digits, '-', '_', '.', ':')"},
        {"backend b extra\n", "t.cfg:1: 'backend': unexpected argument 'extra'"},
        {"backend b from\n", "t.cfg:1: 'backend': 'from' expects a defaults section name"},
        {"backend b from nope\n", "t.cfg:1: 'from': no defaults section named 'nope' before this line"},
        {"defaults d\ndefaults d\nbackend b from d\n",
         "t.cfg:3: 'from': several defaults sections are named 'd'; a referenced defaults section needs a unique name"},
        {"defaults d/x\nbackend b from d/x\n", "t.cfg:2: 'from': invalid defaults section name 'd/x'"},
        {"backend b\nbackend b\n", "t.cfg:2: 'backend': backend 'b' has the same name as backend 'b' declared at t.cfg:1"},
        {"listen l\n bind :1\nbackend l\n", "t.cfg:3: 'backend': backend 'l' has the same name as listen 'l' declared at t.cfg:1"},
        {"frontend f\n bind :1\nlisten f\n bind :2\n",
         "t.cfg:3: 'listen': listen 'f' has the same name as frontend 'f' declared at t.cfg:1"},
        {"userlist admins\n  user a password x\nglobal\n  maxconn 1\n", "t.cfg:1: section 'userlist' is not supported"},
    });
}

TEST_CASE("a frontend and a backend may share a name, as in HAProxy") {
    auto r = load("frontend app\n bind :1\n default_backend app\nbackend app\n server s 127.0.0.1:1\n");
    const Snapshot& s = ok(r);
    CHECK(s.proxies[0].default_backend == 1);
}

TEST_CASE("keyword placement errors and warnings") {
    check_cases({
        {"global\n  bogus 1\n", "t.cfg:2: 'bogus' is not supported"},
        {"defaults\n  option foo\n", "t.cfg:2: 'option foo' is not supported"},
        {"defaults\n  timeout tarpit 1s\n", "t.cfg:2: 'timeout tarpit' is not supported"},
        {"frontend f\n  bind :1\n  http-request set-var(txn.x) str(1)\n",
         "t.cfg:3: 'http-request set-var(txn.x)' is not supported"},
        {"frontend f\n  bind :1\n  tcp-request content accept\n", "t.cfg:3: 'tcp-request content' is not supported"},
        {"frontend f\n  bind :1\n  tcp-request connection silent-drop\n",
         "t.cfg:3: 'tcp-request connection silent-drop' is not supported"},
        {"global\n  stats enable\n", "t.cfg:2: 'stats enable' is not supported"},
        {"global\n  no option redispatch\n", "t.cfg:2: 'option redispatch' is not allowed in the 'global' section"},
        {"global\n  bind :80\n", "t.cfg:2: 'bind' is not allowed in the 'global' section"},
        {"global\n  no\n", "t.cfg:2: 'no' expects a keyword"},
        {"defaults\n  bind :80\n", "t.cfg:2: 'bind' is not allowed in a 'defaults' section"},
        {"defaults\n  server s 1.2.3.4:80\n", "t.cfg:2: 'server' is not allowed in a 'defaults' section"},
        {"defaults\n  use_backend b\n", "t.cfg:2: 'use_backend' is not allowed in a 'defaults' section"},
        {"defaults\n  acl a src 1.2.3.4\n",
         "t.cfg:2: 'acl' is not allowed in an anonymous 'defaults' section (give the section a name)"},
        {"defaults\n  http-request deny\n",
         "t.cfg:2: 'http-request deny' is not allowed in an anonymous 'defaults' section (give the section a name)"},
        {"frontend f\n  bind :1\n  daemon\n", "t.cfg:3: 'daemon' is not allowed in a 'frontend' section"},
        {"frontend f\n  bind :1\n  server s 1.2.3.4:80\n",
         "t.cfg:3: 'server' is not allowed because frontend 'f' has no backend capability"},
        {"frontend f\n  bind :1\n  default-server check\n",
         "t.cfg:3: 'default-server' is not allowed because frontend 'f' has no backend capability"},
        {"defaults\n  no mode\n", "t.cfg:2: 'mode' does not support the 'no' prefix"},
        {"defaults\n  no option httplog\n", "t.cfg:2: 'option httplog' does not support the 'no' prefix"},
        {"defaults\n  no option forwardfor\n", "t.cfg:2: 'option forwardfor' does not support the 'no' prefix"},
    });
    auto r = load("backend b\n  bind :80\n  use_backend x\n  timeout client 1s\n  server s 127.0.0.1:1\n");
    ok(r);
    CHECK(has_warning(r, "t.cfg:2: 'bind' ignored because backend 'b' has no frontend capability"));
    CHECK(has_warning(r, "t.cfg:3: 'use_backend' ignored because backend 'b' has no frontend capability"));
    CHECK(has_warning(r, "t.cfg:4: 'timeout client' ignored because backend 'b' has no frontend capability"));
    CHECK(proxy(*r.snapshot, "b").binds.empty());
    CHECK(proxy(*r.snapshot, "b").timeouts.client == kUnset);
}

TEST_CASE("global keyword errors") {
    check_cases({
        {"global\n  daemon 1\n", "t.cfg:2: 'daemon': unexpected argument '1'"},
        {"global\n  user\n", "t.cfg:2: 'user': expects 1 argument, got 0"},
        {"global\n  group a b\n", "t.cfg:2: 'group': unexpected argument 'b'"},
        {"global\n  chroot \"\"\n", "t.cfg:2: 'chroot': expects a non-empty argument"},
        {"global\n  nbthread 0\n", "t.cfg:2: 'nbthread': '0' is not an integer between 1 and 1024"},
        {"global\n  maxconn -5\n", "t.cfg:2: 'maxconn': '-5' is not an integer between 1 and 2147483647"},
        {"global\n  ulimit-n lots\n", "t.cfg:2: 'ulimit-n': 'lots' is not an integer between 1 and 2147483647"},
        {"global\n  stats timeout 0\n", "t.cfg:2: 'stats timeout': expects a time greater than 0"},
        {"global\n  stats timeout 5x\n", "t.cfg:2: 'stats timeout': unexpected character 'x' in '5x'"},
        {"global\n  hard-stop-after 25d\n",
         "t.cfg:2: 'hard-stop-after': timer overflow in '25d' (maximum value is 2147483647 ms or ~24.8 days)"},
        {"global\n  spread-checks 51\n", "t.cfg:2: 'spread-checks': '51' is not an integer between 0 and 50"},
        {"global\n  tune.bufsize 512\n", "t.cfg:2: 'tune.bufsize': expects at least 1024 bytes, got 512"},
        {"global\n  tune.bufsize 16kb\n", "t.cfg:2: 'tune.bufsize': unexpected character 'b' in '16kb'"},
        {"global\n  tune.ssl.cachesize -1\n",
         "t.cfg:2: 'tune.ssl.cachesize': '-1' is not an integer between 0 and 2147483647"},
        {"global\n  tune.ssl.lifetime 1y\n", "t.cfg:2: 'tune.ssl.lifetime': unexpected character 'y' in '1y'"},
        {"global\n  ssl-default-bind-options\n", "t.cfg:2: 'ssl-default-bind-options': expects at least one option"},
        {"global\n  ssl-default-bind-options ssl-min-ver TLSv9\n",
         "t.cfg:2: 'ssl-default-bind-options': 'ssl-min-ver' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"},
        {"global\n  ssl-default-server-options prefer-client-ciphers\n",
         "t.cfg:2: 'ssl-default-server-options': option 'prefer-client-ciphers' is not supported (ssl-min-ver, "
         "ssl-max-ver, no-sslv3, no-tlsv10, no-tlsv11, no-tlsv12, no-tlsv13, no-tls-tickets)"},
        {"global\n  ssl-default-bind-ciphers\n", "t.cfg:2: 'ssl-default-bind-ciphers': expects 1 argument, got 0"},
        {"global\n  geoip-db c\n", "t.cfg:2: 'geoip-db': expects 2 arguments, got 1"},
        {"global\n  geoip-db c/x /dev/null\n",
         "t.cfg:2: 'geoip-db': invalid database name 'c/x' (letters, digits, '-', '_', '.', ':')"},
        {"global\n  geoip-db c /nonexistent/x.mmdb\n",
         "t.cfg:2: 'geoip-db': cannot open '/nonexistent/x.mmdb': No such file or directory"},
        {"global\n  geoip-db c /dev/null\n  geoip-db c /dev/null\n",
         "t.cfg:3: 'geoip-db': database 'c' is already declared at t.cfg:2"},
    });
}

TEST_CASE("log and stats socket errors") {
    check_cases({
        {"global\n  log\n",
         "t.cfg:2: 'log': expects a target (stdout, stderr, a unix socket path or IP[:PORT]) and a facility"},
        {"global\n  log stdout\n", "t.cfg:2: 'log': expects a facility after the target"},
        {"global\n  log stdout local9\n", "t.cfg:2: 'log': unknown facility 'local9'"},
        {"global\n  log stdout local0 loud\n", "t.cfg:2: 'log': unknown log level 'loud'"},
        {"global\n  log stdout local0 info quiet\n", "t.cfg:2: 'log': unknown log level 'quiet'"},
        {"global\n  log stdout local0 info err x\n", "t.cfg:2: 'log': unexpected argument 'x'"},
        {"global\n  log stdout len 79 local0\n", "t.cfg:2: 'log': len: '79' is not an integer between 80 and 65535"},
        {"global\n  log stdout len\n", "t.cfg:2: 'log': 'len' expects a length"},
        {"global\n  log stdout format short local0\n",
         "t.cfg:2: 'log': log format 'short' is not supported (raw, rfc3164 or rfc5424)"},
        {"global\n  log stdout sample 1:2 local0\n", "t.cfg:2: 'log': 'sample' is not supported"},
        {"global\n  log ring@buf local0\n",
         "t.cfg:2: 'log': log target 'ring@buf' is not supported (use stdout, stderr, a unix socket path or IP[:PORT])"},
        {"global\n  log 1.2.3.4:99999 local0\n", "t.cfg:2: 'log': invalid log target '1.2.3.4:99999': invalid port '99999'"},
        {"global\n  log global\n", "t.cfg:2: 'log': 'log global' is only meaningful in a proxy"},
        {"defaults\n  no log x\n", "t.cfg:2: 'log': 'no log' does not expect arguments"},
        {"defaults\n  log global x\n", "t.cfg:2: 'log': 'log global' does not expect other arguments"},
        {"defaults\n  log global\n  log global\n", "t.cfg:3: 'log': only one 'log global' is allowed per section"},
        {"global\n  stats socket\n", "t.cfg:2: 'stats socket': expects a unix socket path or ADDR:PORT"},
        {"global\n  stats socket 127.0.0.1\n",
         "t.cfg:2: 'stats socket': invalid address '127.0.0.1': missing port in '127.0.0.1'"},
        {"global\n  stats socket /s mode 899\n", "t.cfg:2: 'stats socket': 'mode' expects an octal value, got '899'"},
        {"global\n  stats socket /s mode\n", "t.cfg:2: 'stats socket': 'mode' expects an octal value"},
        {"global\n  stats socket /s level root\n",
         "t.cfg:2: 'stats socket': 'level' expects user, operator or admin, got 'root'"},
        {"global\n  stats socket /s user\n", "t.cfg:2: 'stats socket': 'user' expects a name"},
        {"global\n  stats socket /s expose-fd all\n", "t.cfg:2: 'stats socket': 'expose-fd' expects 'listeners'"},
        {"global\n  stats socket /s uid 0\n",
         "t.cfg:2: 'stats socket': option 'uid' is not supported (mode, level, user, group, expose-fd listeners)"},
    });
}

TEST_CASE("proxy keyword errors") {
    check_cases({
        {"defaults\n  mode health\n", "t.cfg:2: 'mode': unknown proxy mode 'health' (tcp or http)"},
        {"defaults\n  mode\n", "t.cfg:2: 'mode': expects 1 argument, got 0"},
        {"defaults\n  maxconn -1\n", "t.cfg:2: 'maxconn': '-1' is not an integer between 0 and 2147483647"},
        {"defaults\n  option httplog clf\n", "t.cfg:2: 'option httplog': argument 'clf' is not supported"},
        {"defaults\n  option dontlognull 1\n", "t.cfg:2: 'option dontlognull': unexpected argument '1'"},
        {"defaults\n  option redispatch 2\n", "t.cfg:2: 'option redispatch': unexpected argument '2'"},
        {"defaults\n  option httpclose x\n", "t.cfg:2: 'option httpclose': unexpected argument 'x'"},
        {"defaults\n  timeout client\n", "t.cfg:2: 'timeout client': expects 1 argument, got 0"},
        {"defaults\n  timeout client 5x\n", "t.cfg:2: 'timeout client': unexpected character 'x' in '5x'"},
        {"defaults\n  timeout server -1\n", "t.cfg:2: 'timeout server': unexpected character '-' in '-1'"},
        {"defaults\n  timeout connect 2147483648\n",
         "t.cfg:2: 'timeout connect': timer overflow in '2147483648' (maximum value is 2147483647 ms or ~24.8 days)"},
        {"defaults\n  timeout queue 1 2\n", "t.cfg:2: 'timeout queue': unexpected argument '2'"},
        {"defaults\n  retries many\n", "t.cfg:2: 'retries': 'many' is not an integer between 0 and 2147483647"},
        {"defaults\n  balance uri\n",
         "t.cfg:2: 'balance': algorithm 'uri' is not supported (roundrobin, static-rr, leastconn, source, first, random)"},
        {"defaults\n  balance\n", "t.cfg:2: 'balance': expects 1 argument, got 0"},
        {"defaults\n  http-reuse sometimes\n",
         "t.cfg:2: 'http-reuse': expects never, safe, aggressive or always, got 'sometimes'"},
        {"defaults\n  monitor-uri \"\"\n", "t.cfg:2: 'monitor-uri': expects a non-empty URI"},
        {"defaults\n  disabled now\n", "t.cfg:2: 'disabled': unexpected argument 'now'"},
        {"defaults\n  default_backend\n", "t.cfg:2: 'default_backend': expects 1 argument, got 0"},
        {"defaults\n  default_backend a/b\n", "t.cfg:2: 'default_backend': invalid backend name 'a/b'"},
        {"frontend f\n  bind :1\n  use_backend\n", "t.cfg:3: 'use_backend': expects a backend name"},
        {"frontend f\n  bind :1\n  use_backend %[req.hdr(host)]\n",
         "t.cfg:3: 'use_backend': dynamic backend names ('%[req.hdr(host)]') are not supported"},
        {"frontend f\n  bind :1\n  use_backend b when x\n",
         "t.cfg:3: 'use_backend': expects 'if' or 'unless' followed by a condition but found 'when'"},
        {"frontend f\n  bind :1\n  use_backend b if\n", "t.cfg:3: 'use_backend': missing condition after 'if'"},
        {"frontend f\n  bind :1\n  tcp-request connection\n",
         "t.cfg:3: 'tcp-request connection': expects an action (accept or reject)"},
        {"frontend f\n  bind :1\n  acl x\n", "t.cfg:3: 'acl': expects a name and a criterion"},
        {"frontend f\n  bind :1\n  acl a/b src 1.2.3.4\n",
         "t.cfg:3: 'acl': invalid ACL name 'a/b' (letters, digits, '-', '_', '.', ':')"},
    });
}

TEST_CASE("errorfile errors") {
    Tempdir dir;
    std::string bad = dir.write("bad.http", "<html>sorry</html>");
    std::string nohdr = dir.write("nohdr.http", "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n");
    std::string nostatus = dir.write("nostatus.http", "HTTP/1.1 abc\r\n\r\n");
    check_cases({
        {"defaults\n  errorfile 503\n", "t.cfg:2: 'errorfile': expects 2 arguments, got 1"},
        {"defaults\n  errorfile 418 /dev/null\n",
         "t.cfg:2: 'errorfile': status code 418 is not one skjold produces (200, 400, 401, 403, 404, 405, 407, 408, "
         "410, 413, 425, 429, 500, 501, 502, 503, 504)"},
        {"defaults\n  errorfile 5xx /dev/null\n",
         "t.cfg:2: 'errorfile': status code: '5xx' is not an integer between 100 and 599"},
        {"defaults\n  errorfile 503 /nonexistent/503.http\n",
         "t.cfg:2: 'errorfile': cannot open '/nonexistent/503.http': No such file or directory"},
    });
    CHECK(one_error(load("defaults\n  errorfile 503 " + bad + "\n")) ==
          "t.cfg:2: 'errorfile': '" + bad + "' does not start with an HTTP/1.x status line");
    CHECK(one_error(load("defaults\n  errorfile 503 " + nohdr + "\n")) ==
          "t.cfg:2: 'errorfile': '" + nohdr + "' has no empty line ending its headers");
    CHECK(one_error(load("defaults\n  errorfile 503 " + nostatus + "\n")) ==
          "t.cfg:2: 'errorfile': '" + nostatus + "' has no status code in its first line");
    CHECK(one_error(load("defaults\n  errorfile 503 " + dir.path().string() + "\n")) ==
          "t.cfg:2: 'errorfile': '" + dir.path().string() + "' is a directory");
    // An empty file is HAProxy's way to close without answering (errorfile 408 /dev/null).
    auto s_r = load("listen l\n  bind :1\n  errorfile 408 /dev/null\n  server s 127.0.0.1:1\n");
    const Snapshot& s = ok(s_r);
    CHECK(s.proxies[0].errorfiles.at(408).empty());
}

TEST_CASE("bind errors") {
    check_cases({
        {"frontend f\n  bind\n", "t.cfg:2: 'bind': expects an address (ADDR:PORT[,ADDR:PORT...])"},
        {"frontend f\n  bind 1.2.3.4\n", "t.cfg:2: 'bind': invalid address '1.2.3.4': missing port in '1.2.3.4'"},
        {"frontend f\n  bind :70000\n", "t.cfg:2: 'bind': invalid address ':70000': invalid port '70000'"},
        {"frontend f\n  bind :80,:8000-8010\n", "t.cfg:2: 'bind': invalid address ':8000-8010': invalid port '8000-8010'"},
        {"frontend f\n  bind :80 bogus\n", "t.cfg:2: 'bind': option 'bogus' is not supported"},
        {"frontend f\n  bind :80 ssl\n", "t.cfg:2: 'bind': no SSL certificate specified for bind ':80' (use 'crt')"},
        {"frontend f\n  bind :80 ssl crt\n", "t.cfg:2: 'bind': 'crt' expects FILE|DIR"},
        {"frontend f\n  bind :80 ssl crt /nonexistent.pem\n",
         "t.cfg:2: 'bind': crt: cannot open '/nonexistent.pem': No such file or directory"},
        {"frontend f\n  bind :80 ssl-min-ver TLSv9\n", "t.cfg:2: 'bind': 'ssl-min-ver': 'TLSv9': unknown ssl/tls version"},
        {"frontend f\n  bind :80 ssl-max-ver tls13\n", "t.cfg:2: 'bind': 'ssl-max-ver': 'tls13': unknown ssl/tls version"},
        {"frontend f\n  bind :80 alpn h2,,x\n", "t.cfg:2: 'bind': 'alpn' expects a comma-separated protocol list, got 'h2,,x'"},
        {"frontend f\n  bind :80 name \"\"\n", "t.cfg:2: 'bind': 'name' expects a non-empty name"},
        {"frontend f\n  bind :80 backlog 0\n", "t.cfg:2: 'bind': backlog: '0' is not an integer between 1 and 2147483647"},
    });
}

TEST_CASE("server and default-server errors") {
    check_cases({
        {"backend b\n  server s1\n", "t.cfg:2: 'server': expects a name and an address (server NAME ADDR:PORT [options])"},
        {"backend b\n  server s/1 1.2.3.4:80\n",
         "t.cfg:2: 'server': invalid server name 's/1' (letters, digits, '-', '_', '.', ':')"},
        {"backend b\n  server s1 10.0.0.1\n", "t.cfg:2: 'server': invalid address '10.0.0.1': missing port in '10.0.0.1'"},
        {"backend b\n  server s1 10.0.0.1:80\n  server s1 10.0.0.2:80\n",
         "t.cfg:3: 'server': another server named 's1' was already defined at t.cfg:2, please use distinct names"},
        {"backend b\n  server s 1.2.3.4:80 bogus\n", "t.cfg:2: 'server': option 'bogus' is not supported"},
        {"backend b\n  server s 1.2.3.4:80 inter\n", "t.cfg:2: 'server': 'inter' expects TIME"},
        {"backend b\n  server s 1.2.3.4:80 inter 0\n", "t.cfg:2: 'server': 'inter' must be greater than 0"},
        {"backend b\n  server s 1.2.3.4:80 inter 5x\n", "t.cfg:2: 'server': inter: unexpected character 'x' in '5x'"},
        {"backend b\n  server s 1.2.3.4:80 fastinter 0\n", "t.cfg:2: 'server': 'fastinter' must be greater than 0"},
        {"backend b\n  server s 1.2.3.4:80 downinter -1\n",
         "t.cfg:2: 'server': downinter: unexpected character '-' in '-1'"},
        {"backend b\n  server s 1.2.3.4:80 rise 0\n", "t.cfg:2: 'server': rise: '0' is not an integer between 1 and 2147483647"},
        {"backend b\n  server s 1.2.3.4:80 fall 0\n", "t.cfg:2: 'server': fall: '0' is not an integer between 1 and 2147483647"},
        {"backend b\n  server s 1.2.3.4:80 port 99999\n", "t.cfg:2: 'server': port: '99999' is not an integer between 1 and 65535"},
        {"backend b\n  server s 1.2.3.4:80 addr 1.2.3.4:80\n",
         "t.cfg:2: 'server': 'addr' expects an IPv4 or IPv6 address, got '1.2.3.4:80': a port is not allowed in '1.2.3.4:80'"},
        {"backend b\n  server s 1.2.3.4:80 weight 257\n", "t.cfg:2: 'server': weight: '257' is not an integer between 0 and 256"},
        {"backend b\n  server s 1.2.3.4:80 maxconn -1\n",
         "t.cfg:2: 'server': maxconn: '-1' is not an integer between 0 and 2147483647"},
        {"backend b\n  server s 1.2.3.4:80 slowstart -1s\n",
         "t.cfg:2: 'server': slowstart: unexpected character '-' in '-1s'"},
        {"backend b\n  server s 1.2.3.4:80 observe layer5\n",
         "t.cfg:2: 'server': 'observe' expects layer4 or layer7, got 'layer5'"},
        {"backend b\n  server s 1.2.3.4:80 error-limit 0\n",
         "t.cfg:2: 'server': error-limit: '0' is not an integer between 1 and 2147483647"},
        {"backend b\n  server s 1.2.3.4:80 on-error panic\n",
         "t.cfg:2: 'server': 'on-error' expects fastinter, fail-check, sudden-death or mark-down, got 'panic'"},
        {"backend b\n  server s 1.2.3.4:80 ssl verify maybe\n",
         "t.cfg:2: 'server': 'verify': unknown verify method 'maybe', only 'none' and 'required' are supported"},
        {"backend b\n  server s 1.2.3.4:80 ssl\n",
         "t.cfg:2: 'server': verify is enabled by default but no CA file specified; set 'ca-file FILE', or "
         "'verify none' if you trust the network to the server"},
        {"backend b\n  server s 1.2.3.4:80 check check-ssl\n",
         "t.cfg:2: 'server': verify is enabled by default but no CA file specified; set 'ca-file FILE', or "
         "'verify none' if you trust the network to the server"},
        {"backend b\n  server s 1.2.3.4:80 ssl ca-file /nonexistent/ca.pem\n",
         "t.cfg:2: 'server': ca-file: cannot open '/nonexistent/ca.pem': No such file or directory"},
        {"backend b\n  server s 1.2.3.4:80 sni \"\"\n", "t.cfg:2: 'server': 'sni' expects an expression"},
        {"backend b\n  server s 1.2.3.4:80 alpn \"\"\n", "t.cfg:2: 'server': 'alpn' expects a comma-separated protocol list"},
        {"backend b\n  default-server rise 0\n",
         "t.cfg:2: 'default-server': rise: '0' is not an integer between 1 and 2147483647"},
        {"backend b\n  default-server no-check\n", "t.cfg:2: 'default-server': option 'no-check' is not supported"},
    });
    // `verify none` makes TLS to servers acceptable without a CA file.
    {
        auto r_ = load("backend b\n  timeout connect 1s\n  timeout server 1s\n  server s 1.2.3.4:443 ssl verify none\n");
        ok(r_);
    }
}

TEST_CASE("http rule, forwardfor and http-check errors") {
    Tempdir dir;
    std::string body = dir.write("body.txt", "hello");
    check_cases({
        {"frontend f\n  bind :1\n  http-request deny deny_status 418\n",
         "t.cfg:3: 'http-request deny': status code 418 has no default error response (200, 400, 401, 403, 404, 405, "
         "407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504)"},
        {"frontend f\n  bind :1\n  http-request deny deny_status\n", "t.cfg:3: 'http-request deny': 'deny_status' expects a status code"},
        {"frontend f\n  bind :1\n  http-request deny foo\n",
         "t.cfg:3: 'http-request deny': expects 'if' or 'unless' followed by a condition but found 'foo'"},
        {"frontend f\n  bind :1\n  http-request return status 199\n",
         "t.cfg:3: 'http-request return': status: '199' is not an integer between 200 and 599"},
        {"frontend f\n  bind :1\n  http-request return status 418 string x\n",
         "t.cfg:3: 'http-request return': a content type must be defined when a non-empty payload is configured"},
        {"frontend f\n  bind :1\n  http-request return content-type t string x file /dev/null\n",
         "t.cfg:3: 'http-request return': only one of 'string' and 'file' may be given"},
        {"frontend f\n  bind :1\n  http-request return lf-string x\n",
         "t.cfg:3: 'http-request return': argument 'lf-string' is not supported (status, content-type, string, file)"},
        {"frontend f\n  bind :1\n  http-request return status\n", "t.cfg:3: 'http-request return': 'status' expects a value"},
        {"frontend f\n  bind :1\n  http-request return content-type t file /nonexistent\n",
         "t.cfg:3: 'http-request return': file: cannot open '/nonexistent': No such file or directory"},
        {"frontend f\n  bind :1\n  http-request redirect\n", "t.cfg:3: 'http-request redirect': expects location, prefix or scheme"},
        {"frontend f\n  bind :1\n  http-request redirect location\n",
         "t.cfg:3: 'http-request redirect': missing argument for 'location'"},
        {"frontend f\n  bind :1\n  http-request redirect uri /x\n",
         "t.cfg:3: 'http-request redirect': redirect type 'uri' is not supported (location, prefix, scheme)"},
        {"frontend f\n  bind :1\n  http-request redirect location /x code 304\n",
         "t.cfg:3: 'http-request redirect': 'code': unsupported HTTP code '304' (must be one of 301, 302, 303, 307 or 308)"},
        {"frontend f\n  bind :1\n  http-request redirect location /x code\n",
         "t.cfg:3: 'http-request redirect': 'code' expects 301, 302, 303, 307 or 308"},
        {"frontend f\n  bind :1\n  http-request redirect prefix /x drop-query\n",
         "t.cfg:3: 'http-request redirect': option 'drop-query' is not supported"},
        {"frontend f\n  bind :1\n  http-request set-header X\n",
         "t.cfg:3: 'http-request set-header': expects exactly 2 arguments (a header name and a value)"},
        {"frontend f\n  bind :1\n  http-request add-header \"X Y\" v\n",
         "t.cfg:3: 'http-request add-header': invalid header name 'X Y'"},
        {"frontend f\n  bind :1\n  http-request del-header\n", "t.cfg:3: 'http-request del-header': expects a header name"},
        {"frontend f\n  bind :1\n  http-request del-header X Y\n",
         "t.cfg:3: 'http-request del-header': expects 'if' or 'unless' followed by a condition but found 'Y'"},
        {"frontend f\n  bind :1\n  http-request del-header X -m beg\n", "t.cfg:3: 'http-request del-header': '-m' is not supported"},
        {"frontend f\n  bind :1\n  http-response set-header X\n",
         "t.cfg:3: 'http-response set-header': expects exactly 2 arguments (a header name and a value)"},
        {"frontend f\n  bind :1\n  http-response deny\n", "t.cfg:3: 'http-response deny' is not supported"},
        {"defaults\n  option forwardfor if-none\n", "t.cfg:2: 'option forwardfor': argument 'if-none' is not supported"},
        {"defaults\n  option forwardfor except\n", "t.cfg:2: 'option forwardfor': 'except' expects a value"},
        {"defaults\n  option forwardfor except 10.0.0.0/33\n",
         "t.cfg:2: 'option forwardfor': 'except' expects an address or network, got '10.0.0.0/33'"},
        {"defaults\n  option forwardfor header \"X Y\"\n", "t.cfg:2: 'option forwardfor': invalid header name 'X Y'"},
        {"defaults\n  option forwardfor to x\n", "t.cfg:2: 'option forwardfor': unexpected argument 'to' (except, header)"},
        {"defaults\n  option httpchk GET / HTTP/1.1 x\n", "t.cfg:2: 'option httpchk': unexpected argument 'x'"},
        {"defaults\n  option httpchk \"G T\" /\n", "t.cfg:2: 'option httpchk': invalid method 'G T'"},
        {"defaults\n  http-check send body x\n",
         "t.cfg:2: 'http-check send': argument 'body' is not supported (meth, uri, ver, hdr)"},
        {"defaults\n  http-check send hdr Host\n", "t.cfg:2: 'http-check send': 'hdr' expects a name and a value"},
        {"defaults\n  http-check send meth\n", "t.cfg:2: 'http-check send': 'meth' expects a value"},
        {"defaults\n  http-check send path /\n", "t.cfg:2: 'http-check send': unexpected argument 'path' (meth, uri, ver, hdr)"},
        {"defaults\n  http-check send uri /a\n  http-check send uri /b\n",
         "t.cfg:3: 'http-check send': only one 'http-check send' per section is supported"},
        {"defaults\n  http-check expect status 2xx\n",
         "t.cfg:2: 'http-check expect': 'status' expects status codes or ranges (e.g. 200 or 200-399,404), got '2xx'"},
        {"defaults\n  http-check expect status 300-200\n",
         "t.cfg:2: 'http-check expect': 'status' expects status codes or ranges (e.g. 200 or 200-399,404), got '300-200'"},
        {"defaults\n  http-check expect rstatus (\n",
         "t.cfg:2: 'http-check expect': invalid regular expression '(': Unmatched ( or \\("},
        {"defaults\n  http-check expect ! status 200\n", "t.cfg:2: 'http-check expect': negated matches ('!') are not supported"},
        {"defaults\n  http-check expect hdr name x\n", "t.cfg:2: 'http-check expect': 'hdr' is not supported (status, rstatus, string)"},
        {"defaults\n  http-check expect string\n", "t.cfg:2: 'http-check expect': 'string' expects a pattern"},
        {"defaults\n  http-check expect string a b\n", "t.cfg:2: 'http-check expect': unexpected argument 'b'"},
        {"defaults\n  http-check expect\n", "t.cfg:2: 'http-check expect': expects status, rstatus or string and a pattern"},
        {"defaults\n  http-check expect status 200\n  http-check expect status 201\n",
         "t.cfg:3: 'http-check expect': only one 'http-check expect' per section is supported"},
    });
    CHECK(one_error(load("frontend f\n  bind :1\n  http-request return file " + body + "\n")) ==
          "t.cfg:3: 'http-request return': a content type must be defined when a non-empty payload is configured");
}

TEST_CASE("cross-section errors: backends named by use_backend and default_backend, and modes") {
    check_cases({
        {"frontend f\n  bind :1\n  default_backend nope\n",
         "t.cfg:3: 'default_backend': no backend named 'nope' (used by frontend 'f')"},
        {"frontend f\n  bind :1\n  use_backend nope\nbackend b\n  server s 1.2.3.4:5\n",
         "t.cfg:3: 'use_backend': no backend named 'nope' (used by frontend 'f')"},
        {"frontend f\n  bind :1\n  default_backend g\nfrontend g\n  bind :2\n",
         "t.cfg:3: 'default_backend': no backend named 'g' (a frontend has that name, but a frontend has no servers) "
         "(used by frontend 'f')"},
        {"defaults\n  default_backend nope\nfrontend f\n  bind :1\n",
         "t.cfg:2: 'default_backend': no backend named 'nope' (used by frontend 'f')"},
        {"frontend f\n  mode http\n  bind :1\n  use_backend b\nbackend b\n  mode tcp\n",
         "t.cfg:4: 'use_backend': http frontend 'f' cannot use tcp backend 'b' (t.cfg:5) (see 'mode')"},
        {"listen l\n  mode http\n  bind :1\n  default_backend b\nbackend b\n",
         "t.cfg:4: 'default_backend': http listen 'l' cannot use tcp backend 'b' (t.cfg:5) (see 'mode')"},
    });
}

TEST_CASE("a tcp frontend may use an http backend (HAProxy upgrades the stream)") {
    auto r = load("frontend f\n  bind :1\n  default_backend b\nbackend b\n  mode http\n");
    CHECK(ok(r).proxies[0].default_backend == 1);
}

TEST_CASE("a frontend without bind is a warning, as in HAProxy") {
    auto r = load("frontend f\n  timeout client 1s\n");
    ok(r);
    CHECK(has_warning(r, "t.cfg:1: frontend 'f' has no 'bind' directive; declare it as a backend if this was intended"));
}

TEST_CASE("every error of a file is reported, not only the first") {
    auto r = load("global\n  maxconn x\nfrontend f\n  bind :99999\n  option nope\nbackend b\n  server s 1.2.3.4\n");
    REQUIRE(r.errors.size() == 4);
    CHECK(r.errors[0].line == 2);
    CHECK(r.errors[1].line == 4);
    CHECK(r.errors[2].line == 5);
    CHECK(r.errors[3].line == 7);
    CHECK(r.snapshot == nullptr);
}

TEST_CASE("HAProxy's conditional blocks are not supported") {
    auto r = load("global\n  .if defined(HOME)\n  maxconn 10\n  .endif\n");
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].str() == "t.cfg:2: '.if' is not supported");
    CHECK(r.errors[1].str() == "t.cfg:4: '.endif' is not supported");
}

TEST_CASE("warnings HAProxy gives for valid but suspicious configurations") {
    auto r = load("backend b\n  http-check expect status 200\n  timeout connect 1s\n  timeout server 1s\n");
    ok(r);
    CHECK(has_warning(r, "t.cfg:1: backend 'b' uses http-check rules without 'option httpchk', so the rules are ignored"));
    CHECK(has_warning(r, "t.cfg: no frontend or listen section: nothing to listen on"));
    CHECK(!has_warning(r, "missing timeouts"));
    REQUIRE(r.snapshot != nullptr);
    CHECK(r.snapshot->warnings.size() == r.warnings.size());

    auto t = load("listen l\n  bind :1\n  server s 127.0.0.1:2\n");
    ok(t);
    CHECK(has_warning(t, "t.cfg:1: missing timeouts for listen 'l': set 'timeout client', 'timeout connect', "
                         "'timeout server' (without them idle connections are never closed)"));
}
