// http-request / http-response rules, forwardfor and monitor-uri, from configurations loaded
// as the binary loads them. Expected responses are the bytes haproxy 2.6.12 sent on 127.0.0.1
// for the same rule and request.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "tests/unit/proxy/http_head.hh"
#include "proxy/http_errors.hh"
#include "proxy/http_rules.hh"
#include "tests/unit/temp_file.hh"

using namespace skjold;
using test::Head;
using Kind = proxy::RuleVerdict::Kind;

// Counts heap allocations so a test can assert that the rules allocate nothing per request.
// Under AddressSanitizer the replacement would fight ASan's operators: counting is off there.
#if defined(SKJOLD_SANITIZE)
#define SKJOLD_HTTP_RULES_COUNT 0
#else
#define SKJOLD_HTTP_RULES_COUNT 1
#endif
[[maybe_unused]] static std::atomic<long> g_news{0};
#if SKJOLD_HTTP_RULES_COUNT
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

// One request through a frontend's http-request rules.
struct Run {
    std::shared_ptr<const conf::Snapshot> snap;
    const conf::Proxy* px = nullptr;
    test::HttpCtx ctx;
    std::string out = std::string(8192, '\0');

    explicit Run(const std::string& proxy_lines) {
        snap = test::load("frontend fe\n  mode http\n" + proxy_lines);
        px = &snap->proxies.at(0);
    }
    proxy::RuleVerdict run(Head& h, std::size_t cap = 8192) {
        ctx.req = &h.msg;
        return proxy::run_http_request_rules(*px, h.msg, ctx, out.data(), std::min(cap, out.size()));
    }
    // The response text of the last run.
    std::string response(const proxy::RuleVerdict& v) const { return out.substr(0, v.out_len); }
};

std::string header_lines(const Head& h) {
    std::string w = h.wire();
    return w.substr(w.find("\r\n") + 2);
}

}  // namespace

TEST_CASE("http-request deny answers haproxy's 403 page and keeps the connection") {
    Run r("  http-request deny if { path /deny }\n");
    Head h("GET /deny HTTP/1.1\r\nHost: a\r\n\r\n");
    auto v = r.run(h);
    CHECK(v.kind == Kind::deny);
    CHECK(v.status == 403);
    CHECK_FALSE(v.close);
    CHECK(r.response(v) == proxy::default_error_response(403));
    Head other("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.run(other).kind == Kind::cont);
}

TEST_CASE("deny_status picks the page; an errorfile for that code replaces it") {
    test::TempFile f("HTTP/1.1 429 Slow down\r\nContent-Length: 4\r\nRetry-After: 10\r\n\r\nslow", "429.http");
    Run r("  errorfile 429 " + f.path + "\n  http-request deny deny_status 429 if { path /a }\n"
          "  http-request deny deny_status 503 if { path /b }\n");
    Head a("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    auto v = r.run(a);
    CHECK(v.kind == Kind::deny);
    CHECK(v.status == 429);
    CHECK(r.response(v) == "HTTP/1.1 429 Slow down\r\nContent-Length: 4\r\nRetry-After: 10\r\n\r\nslow");
    Head b("GET /b HTTP/1.0\r\n\r\n");
    v = r.run(b);
    CHECK(v.status == 503);
    CHECK(v.close);
    CHECK(r.response(v) ==
          "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "connection: close\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle "
          "this request.\n</body></html>\n");
}

TEST_CASE("http-request return: status, content-type and string, as haproxy sends them") {
    Run r("  http-request return status 201 content-type text/plain string hello if { path /ret }\n"
          "  http-request return if { path /empty }\n"
          "  http-request return status 404 if { path /nf }\n"
          "  http-request return status 204 if { path /nc }\n");
    Head h("GET /ret HTTP/1.1\r\nHost: a\r\n\r\n");
    auto v = r.run(h);
    CHECK(v.kind == Kind::respond);
    CHECK(v.status == 201);
    CHECK(r.response(v) == "HTTP/1.1 201 Created\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello");
    Head e("GET /empty HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.response(r.run(e)) == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    Head nf("GET /nf HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.response(r.run(nf)) == "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    Head nc("GET /nc HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.response(r.run(nc)) == "HTTP/1.1 204 No Content\r\n\r\n");
    Head head("HEAD /ret HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.response(r.run(head)) == "HTTP/1.1 201 Created\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\n");
    Head h10("GET /ret HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    v = r.run(h10);
    CHECK(r.response(v) ==
          "HTTP/1.1 201 Created\r\ncontent-length: 5\r\ncontent-type: text/plain\r\nconnection: keep-alive\r\n\r\nhello");
    CHECK_FALSE(v.close);
}

TEST_CASE("http-request return file: the file is read at load; a missing file fails with FILE:LINE") {
    test::TempFile body("<h1>maintenance</h1>\n", "body.html");
    Run r("  http-request return status 503 content-type text/html file " + body.path + "\n");
    Head h("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    auto v = r.run(h);
    CHECK(r.response(v) ==
          "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 21\r\ncontent-type: text/html\r\n\r\n<h1>maintenance</h1>\n");
    std::string err = test::load_error("frontend fe\n  mode http\n\n  http-request return status 200 content-type text/html "
                                       "file /nonexistent/body.html\n");
    CHECK(err.starts_with("t.cfg:4: "));
    CHECK(err.find("/nonexistent/body.html") != std::string::npos);
    test::TempFile big(std::string(17000, 'a'), "big.txt");
    err = test::load_error("frontend fe\n  mode http\n  http-request return content-type text/plain file " + big.path + "\n");
    CHECK(err.starts_with("t.cfg:3: "));
    CHECK(err.find("exceeds the buffer size (17000 > 16384)") != std::string::npos);
}

TEST_CASE("redirect location with each code; cache-control only for 302, 303 and 307") {
    Run r("  http-request redirect location /new if { path /302 }\n"
          "  http-request redirect location http://x.example/y code 301 if { path /301 }\n"
          "  http-request redirect location /c303 code 303 if { path /303 }\n"
          "  http-request redirect location /c307 code 307 if { path /307 }\n"
          "  http-request redirect location /c308 code 308 if { path /308 }\n");
    struct Case {
        const char* path;
        const char* expect;
    } cases[] = {
        {"/302", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new\r\ncache-control: no-cache\r\n\r\n"},
        {"/301", "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: http://x.example/y\r\n\r\n"},
        {"/303", "HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /c303\r\ncache-control: no-cache\r\n\r\n"},
        {"/307", "HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: /c307\r\ncache-control: no-cache\r\n\r\n"},
        {"/308", "HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /c308\r\n\r\n"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.path);
        Head h("GET " + std::string(c.path) + " HTTP/1.1\r\nHost: a\r\n\r\n");
        auto v = r.run(h);
        CHECK(v.kind == Kind::respond);
        CHECK(v.status == std::stoi(c.path + 1));
        CHECK(r.response(v) == c.expect);
    }
}

TEST_CASE("redirect prefix keeps path and query; prefix / keeps the same URL") {
    Run r("  http-request redirect prefix /pre if { path_beg /pfx }\n"
          "  http-request redirect prefix https://h.example/ if { path_beg /p2 }\n"
          "  http-request redirect prefix / if { path_beg /self }\n"
          "  http-request redirect prefix /x if { url_beg http }\n");
    auto location = [&](const std::string& target) {
        Head h("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string resp = r.response(r.run(h));
        std::size_t at = resp.find("location: ");
        return at == std::string::npos ? std::string("(none)") : resp.substr(at + 10, resp.find("\r\n", at) - at - 10);
    };
    CHECK(location("/pfx/a/b?q=1&r=2") == "/pre/pfx/a/b?q=1&r=2");
    CHECK(location("/p2/x?y") == "https://h.example//p2/x?y");
    CHECK(location("/self/a?b") == "/self/a?b");
    CHECK(location("http://a.example") == "/x/");
    CHECK(location("http://a.example/z?k") == "/x/z?k");
}

TEST_CASE("redirect scheme uses the Host header and the path with its query") {
    Run r("  http-request redirect scheme https code 301 if { path_beg /sch }\n");
    Head h("GET /sch/x?y HTTP/1.1\r\nHost: a.example:8080\r\n\r\n");
    auto v = r.run(h);
    CHECK(r.response(v) == "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://a.example:8080/sch/x?y\r\n\r\n");
    Head h10("GET /sch/x?y HTTP/1.0\r\n\r\n");
    v = r.run(h10);
    CHECK(r.response(v) ==
          "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https:///sch/x?y\r\nconnection: close\r\n\r\n");
    CHECK(v.close);
}

TEST_CASE("set-header, add-header and del-header edit the request in order, with if and unless") {
    Run r("  acl internal src 10.0.0.0/8\n"
          "  http-request del-header X-Del\n"
          "  http-request set-header X-Set one\n"
          "  http-request add-header X-Set two\n"
          "  http-request add-header X-Internal yes if internal\n"
          "  http-request add-header X-External yes unless internal\n"
          "  http-request set-header Host new.example if { hdr(host) -i OLD.example }\n");
    Head h("GET / HTTP/1.1\r\nHost: old.example\r\nX-Del: a\r\nX-Set: old\r\nX-Del: b\r\nAccept: */*\r\n\r\n");
    auto v = r.run(h);
    CHECK(v.kind == Kind::cont);
    CHECK(header_lines(h) == "Accept: */*\r\nX-Set: one\r\nX-Set: two\r\nX-External: yes\r\nHost: new.example\r\n\r\n");
    r.ctx.src = geo::IpAddr::from_v4(0x0A000001);
    Head h2("GET / HTTP/1.1\r\nHost: other\r\n\r\n");
    r.run(h2);
    CHECK(header_lines(h2) == "Host: other\r\nX-Set: one\r\nX-Set: two\r\nX-Internal: yes\r\n\r\n");
}

TEST_CASE("the first deny, return or redirect that applies ends the rules; later edits do not happen") {
    Run r("  http-request set-header X-Before 1\n"
          "  http-request deny if { hdr(x-bad) -m found }\n"
          "  http-request return status 200 if { path /r }\n"
          "  http-request deny deny_status 404 if { path /r }\n"
          "  http-request set-header X-After 1\n");
    Head bad("GET /r HTTP/1.1\r\nHost: a\r\nX-Bad: 1\r\n\r\n");
    auto v = r.run(bad);
    CHECK(v.kind == Kind::deny);
    CHECK(v.status == 403);
    CHECK(header_lines(bad) == "Host: a\r\nX-Bad: 1\r\nX-Before: 1\r\n\r\n");
    Head ret("GET /r HTTP/1.1\r\nHost: a\r\n\r\n");
    v = r.run(ret);
    CHECK(v.kind == Kind::respond);
    CHECK(v.status == 200);
    Head pass("GET /p HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.run(pass).kind == Kind::cont);
    CHECK(header_lines(pass) == "Host: a\r\nX-Before: 1\r\nX-After: 1\r\n\r\n");
}

TEST_CASE("log-format values: %[src], %[hdr()] (last value), %[method] %[path] %[url], %%, converters") {
    Run r("  http-request set-header X-L1 \"%[hdr(x-l)]|%[req.hdr(x-l,1)]|%[hdr(x-l,-2)]|%[hdr_cnt(x-l)]|%[hdr(x-l),upper]|%%|%[src_port]x\"\n"
          "  http-request set-header X-Src \"%[src] %[method] %[path] %[url]\"\n"
          "  http-request set-header X-Miss \"%[req.hdr(nope)]\"\n");
    Head h("GET /mon?x=1 HTTP/1.1\r\nHost: h\r\nX-L: a, b\r\nx-l: c\r\n\r\n");
    r.ctx.src_port = 43852;
    CHECK(r.run(h).kind == Kind::cont);
    CHECK(h.msg.find("x-l1").value_or("(none)") == "c|a|b|3|C|%|43852x");
    CHECK(h.msg.find("x-src").value_or("(none)") == "192.0.2.1 GET /mon /mon?x=1");
    CHECK(h.msg.find("x-miss").value_or("(none)") == "");
}

TEST_CASE("redirect targets are log-format too") {
    Run r("  http-request redirect location \"https://%[hdr(host),lower]%[url]\" code 308 if { path_beg /lf }\n");
    Head h("GET /lf?q HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n");
    auto v = r.run(h);
    CHECK(r.response(v) ==
          "HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: https://www.example.com/lf?q\r\n\r\n");
}

TEST_CASE("unsupported log-format is refused at load with FILE:LINE") {
    auto err = [](const std::string& value) {
        return test::load_error("frontend fe\n  mode http\n  http-request set-header X-A \"" + value + "\"\n");
    };
    CHECK(err("%ci").starts_with("t.cfg:3: "));
    CHECK(err("%ci").find("'%ci' is not supported") != std::string::npos);
    CHECK(err("%{+Q}[src]").find("not supported") != std::string::npos);
    CHECK(err("%[src").find("missing ']'") != std::string::npos);
    CHECK(err("%[nbsrv(be)]").find("'nbsrv' is not supported") != std::string::npos);
    CHECK(err("%[path_beg]").find("'path_beg' is not supported") != std::string::npos);
    CHECK(err("%[nosuchfetch]").starts_with("t.cfg:3: "));
    CHECK(err("%[src,map_ip(/x)]").find("lower and upper") != std::string::npos);
    CHECK(test::load_error("frontend fe\n  mode http\n  http-request redirect location %[hdr]\n").starts_with("t.cfg:3: "));
}

TEST_CASE("a rewrite that does not fit the request's storage is reported as a failure (500)") {
    Run r("  http-request add-header X-Big " + std::string(300, 'v') + "\n");
    Head small("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 256);
    REQUIRE(small.ok);
    std::string before = small.wire();
    auto v = r.run(small);
    CHECK(v.kind == Kind::rewrite_failed);
    CHECK(v.status == 500);
    CHECK(small.wire() == before);
    Head big("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 4096);
    CHECK(r.run(big).kind == Kind::cont);
}

TEST_CASE("a response that does not fit the output buffer is a failure, not a truncation") {
    Run r("  http-request deny\n");
    Head h("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    auto v = r.run(h, 100);
    CHECK(v.kind == Kind::rewrite_failed);
    CHECK(v.status == 500);
    CHECK(v.out_len == 0);
    Run lf("  http-request redirect location \"%[hdr(x)]%[hdr(x)]%[hdr(x)]%[hdr(x)]%[hdr(x)]\"\n");
    Head x("GET / HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n", 16384);
    CHECK(lf.run(x).kind == Kind::rewrite_failed);   // 20000 bytes: over kMaxRenderedValue
}

TEST_CASE("http-response rules edit the response; hdr() there reads the response") {
    auto snap = test::load("backend be\n  mode http\n"
                           "  http-response set-header X-Resp r1\n"
                           "  http-response del-header X-Multi\n"
                           "  http-response add-header X-Was-Json yes if { hdr(content-type) -m beg application/json }\n"
                           "  http-response add-header X-Req-Path %[path]\n");
    const conf::Proxy& be = snap->proxies.at(0);
    test::HttpCtx ctx;
    Head req("GET /p HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n\r\n");
    ctx.req = &req.msg;
    Head res("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 2\r\n\r\n");
    CHECK(proxy::run_http_response_rules(be, res.msg, ctx));
    CHECK(res.wire() == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Resp: r1\r\n"
                        "X-Was-Json: yes\r\nX-Req-Path: /p\r\n\r\n");
    Head full("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 50);
    CHECK_FALSE(proxy::run_http_response_rules(be, full.msg, ctx));
}

TEST_CASE("option forwardfor appends one line after existing ones; except skips; backend's name wins") {
    auto snap = test::load("frontend fe\n  mode http\n  option forwardfor except 10.0.0.0/8\n"
                           "backend be\n  mode http\n  option forwardfor header X-Client\n"
                           "backend plain\n  mode http\n"
                           "backend v6\n  mode http\n  option forwardfor except 2001:db8::/32\n");
    const auto& fe = snap->proxies.at(0);
    const auto& be = snap->proxies.at(1);
    const auto& plain = snap->proxies.at(2);
    const auto& v6 = snap->proxies.at(3);
    const auto client = geo::IpAddr::from_v4(0xC6336407);   // 198.51.100.7
    Head h("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\n\r\n");
    CHECK(proxy::apply_forwardfor(fe, plain, h.msg, client));
    CHECK(header_lines(h) == "Host: a\r\nX-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n");
    Head h2("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(proxy::apply_forwardfor(fe, be, h2.msg, client));
    CHECK(header_lines(h2) == "Host: a\r\nX-Client: 198.51.100.7\r\n\r\n");
    Head h3("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(proxy::apply_forwardfor(fe, be, h3.msg, geo::IpAddr::from_v4(0x0A010203)));   // in fe's except
    CHECK(header_lines(h3) == "Host: a\r\n\r\n");
    Head h4("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(proxy::apply_forwardfor(plain, plain, h4.msg, client));   // not enabled anywhere
    CHECK(header_lines(h4) == "Host: a\r\n\r\n");
    auto a6 = geo::parse_ip("2001:db9::5");
    REQUIRE(a6);
    Head h5("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(proxy::apply_forwardfor(plain, v6, h5.msg, *a6));
    CHECK(header_lines(h5) == "Host: a\r\nX-Forwarded-For: 2001:db9::5\r\n\r\n");
    Head h6("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(proxy::apply_forwardfor(plain, v6, h6.msg, *geo::parse_ip("2001:db8::5")));
    CHECK(header_lines(h6) == "Host: a\r\n\r\n");
    Head full("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 48);
    CHECK_FALSE(proxy::apply_forwardfor(fe, plain, full.msg, client));
}

TEST_CASE("monitor-uri matches the path with its query, or the whole target") {
    auto snap = test::load("frontend fe\n  mode http\n  monitor-uri /mon\nfrontend fe2\n  mode http\n  monitor-uri *\n");
    const auto& fe = snap->proxies.at(0);
    CHECK(proxy::monitor_uri_matches(fe, Head("GET /mon HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    CHECK(proxy::monitor_uri_matches(fe, Head("HEAD http://a.example/mon HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    CHECK_FALSE(proxy::monitor_uri_matches(fe, Head("GET /mon?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    CHECK_FALSE(proxy::monitor_uri_matches(fe, Head("GET /monitor HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    CHECK(proxy::monitor_uri_matches(snap->proxies.at(1), Head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    CHECK_FALSE(proxy::monitor_uri_matches(snap->proxies.at(1), Head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").msg));
    Head h10("GET /mon HTTP/1.0\r\n\r\n");
    char out[512];
    proxy::Reply rep = proxy::write_reply(proxy::error_response(fe, 200), &h10.msg, fe, out, sizeof out);
    CHECK(std::string(out, rep.len) ==
          "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "connection: close\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n");
    CHECK(rep.close);
}

#if SKJOLD_HTTP_RULES_COUNT
TEST_CASE("rules, forwardfor and monitor-uri allocate nothing per request") {
    Run r("  acl api path_beg /api\n  option forwardfor\n  monitor-uri /health\n"
          "  http-request set-header X-Src \"%[src]:%[src_port] %[hdr(host),lower]\"\n"
          "  http-request del-header X-Del\n"
          "  http-request add-header X-Api 1 if api { hdr_sub(user-agent) -i curl }\n"
          "  http-request redirect scheme https if { path /old }\n"
          "  http-request deny if { path /deny }\n");
    Head a("GET /api/x HTTP/1.1\r\nHost: A.example\r\nUser-Agent: curl/8\r\nX-Del: 1\r\n\r\n");
    Head b("GET /old?q HTTP/1.1\r\nHost: a\r\n\r\n");
    Head c("GET /deny HTTP/1.0\r\n\r\n");
    long before = g_news.load();
    auto va = r.run(a);
    auto vb = r.run(b);
    auto vc = r.run(c);
    bool ff = proxy::apply_forwardfor(*r.px, *r.px, a.msg, r.ctx.src);
    bool mon = proxy::monitor_uri_matches(*r.px, a.msg);
    long after = g_news.load();
    CHECK(after == before);
    CHECK(va.kind == Kind::cont);
    CHECK(vb.kind == Kind::respond);
    CHECK(vc.kind == Kind::deny);
    CHECK(ff);
    CHECK_FALSE(mon);
    CHECK(a.msg.find("x-api").value_or("") == "1");
}
#endif
