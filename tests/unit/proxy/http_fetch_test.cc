// HTTP fetches: every value of every occurrence as HAProxy splits them, OCC selection, hdr_cnt,
// path/url/method, and every match method the conf side compiles, through the real ACL
// compiler (conf/condition.cc) and evaluator (proxy/acl_eval.cc). The expected answers are the
// ones haproxy 2.6.12 gave for the same heads (checked on 127.0.0.1).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "conf/condition.hh"
#include "proxy/http_fetch.hh"
#include "tests/unit/proxy/http_head.hh"

using namespace skjold;
using test::Head;

namespace {

conf::FetchCall hdr(std::string name, int occ = 0) {
    conf::FetchCall f;
    f.id = conf::FetchId::hdr;
    f.arg = std::move(name);
    f.occ = occ;
    return f;
}

conf::FetchCall call(conf::FetchId id, std::string arg = {}) {
    conf::FetchCall f;
    f.id = id;
    f.arg = std::move(arg);
    return f;
}

// Every value fetch_http answers for f, index 0, 1, 2... until false.
std::vector<std::string> values(const conf::FetchCall& f, const proxy::HttpMessage& m) {
    std::vector<std::string> out;
    proxy::Sample s;
    for (std::size_t i = 0; i < 50 && proxy::fetch_http(f, &m, i, s); ++i) out.emplace_back(s.s);
    return out;
}

using Strings = std::vector<std::string>;

// `acl t WORDS...` compiled and evaluated against the request.
bool acl(std::initializer_list<std::string> words, const Head& h) {
    conf::Proxy px;
    std::vector<std::string> args{"t"};
    args.insert(args.end(), words);
    auto err = conf::add_acl(px, args, conf::SourceLocRef{"t.cfg", 1});
    REQUIRE_MESSAGE(!err, *err);
    test::HttpCtx ctx;
    ctx.req = &h.msg;
    return proxy::acl_matches(px.acls.back(), ctx);
}

const char* const kBrowser =
    "GET /api/v1/users.json?id=7&x=y HTTP/1.1\r\n"
    "Host: www.Example.com:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0\r\n"
    "Accept: text/html, application/xhtml+xml,application/xml;q=0.9, */*;q=0.8\r\n"
    "Accept-Language: nb-NO,nb;q=0.9\r\n"
    "Cookie: a=1\r\n"
    "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n"
    "x-forwarded-for: 10.0.0.3\r\n"
    "Cookie: b=2\r\n"
    "\r\n";

}  // namespace

TEST_CASE("hdr() yields each comma-separated value of each occurrence, in order, trimmed") {
    Head h(kBrowser);
    REQUIRE(h.ok);
    CHECK(values(hdr("x-forwarded-for"), h.msg) == Strings{"10.0.0.1", "10.0.0.2", "10.0.0.3"});
    CHECK(values(hdr("ACCEPT"), h.msg) ==
          Strings{"text/html", "application/xhtml+xml", "application/xml;q=0.9", "*/*;q=0.8"});
    CHECK(values(hdr("cookie"), h.msg) == Strings{"a=1", "b=2"});
    CHECK(values(hdr("host"), h.msg) == Strings{"www.Example.com:8080"});
    CHECK(values(hdr("x-absent"), h.msg).empty());
    CHECK(values(hdr(""), h.msg).empty());
}

TEST_CASE("header values split like HAProxy: quoted commas stay, empty values count") {
    Head h("GET / HTTP/1.1\r\nX-Q: \"x,b\", c\r\nX-E: a,,b, \r\nX-Esc: \"a\\\",b\",c\r\nX-Blank: \r\n\r\n");
    REQUIRE(h.ok);
    CHECK(values(hdr("x-q"), h.msg) == Strings{"\"x,b\"", "c"});
    CHECK(values(hdr("x-e"), h.msg) == Strings{"a", "", "b", ""});
    CHECK(values(hdr("x-esc"), h.msg) == Strings{"\"a\\\",b\"", "c"});
    CHECK(values(hdr("x-blank"), h.msg) == Strings{""});
}

TEST_CASE("hdr(NAME,OCC) picks one value counted over all occurrences, negative from the end") {
    Head h("GET / HTTP/1.1\r\nX-O: one\r\nX-O: two, three\r\n\r\n");
    CHECK(values(hdr("x-o", 1), h.msg) == Strings{"one"});
    CHECK(values(hdr("x-o", 2), h.msg) == Strings{"two"});
    CHECK(values(hdr("x-o", 3), h.msg) == Strings{"three"});
    CHECK(values(hdr("x-o", 4), h.msg).empty());
    CHECK(values(hdr("x-o", -1), h.msg) == Strings{"three"});
    CHECK(values(hdr("x-o", -3), h.msg) == Strings{"one"});
    CHECK(values(hdr("x-o", -4), h.msg).empty());
}

TEST_CASE("deleted header lines are invisible to fetches") {
    Head h("GET / HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\nX-A: 3\r\n\r\n");
    h.msg.del_header("x-a");
    CHECK(values(hdr("x-a"), h.msg).empty());
    proxy::Sample s;
    REQUIRE(proxy::fetch_http(call(conf::FetchId::hdr_cnt), &h.msg, 0, s));
    CHECK(s.i == 1);
}

TEST_CASE("hdr_cnt counts values; without a name, the values of every header") {
    Head h("GET / HTTP/1.1\r\nHost: h\r\nX-C: 1, 2\r\nX-C: 3\r\nX-D: ,,\r\n\r\n");
    proxy::Sample s;
    REQUIRE(proxy::fetch_http(call(conf::FetchId::hdr_cnt, "x-c"), &h.msg, 0, s));
    CHECK(s.type == conf::SampleType::integer);
    CHECK(s.i == 3);
    REQUIRE(proxy::fetch_http(call(conf::FetchId::hdr_cnt, "x-d"), &h.msg, 0, s));
    CHECK(s.i == 3);
    REQUIRE(proxy::fetch_http(call(conf::FetchId::hdr_cnt, "absent"), &h.msg, 0, s));
    CHECK(s.i == 0);
    REQUIRE(proxy::fetch_http(call(conf::FetchId::hdr_cnt), &h.msg, 0, s));
    CHECK(s.i == 7);
    CHECK_FALSE(proxy::fetch_http(call(conf::FetchId::hdr_cnt), &h.msg, 1, s));
}

TEST_CASE("path, url and method for origin-form, absolute-form and asterisk targets") {
    Head a(kBrowser);
    CHECK(values(call(conf::FetchId::path), a.msg) == Strings{"/api/v1/users.json"});
    CHECK(values(call(conf::FetchId::url), a.msg) == Strings{"/api/v1/users.json?id=7&x=y"});
    CHECK(values(call(conf::FetchId::method), a.msg) == Strings{"GET"});
    Head b("POST http://example.com:81/a/b?q HTTP/1.1\r\nHost: example.com:81\r\n\r\n");
    CHECK(values(call(conf::FetchId::path), b.msg) == Strings{"/a/b"});
    CHECK(values(call(conf::FetchId::url), b.msg) == Strings{"http://example.com:81/a/b?q"});
    CHECK(values(call(conf::FetchId::method), b.msg) == Strings{"POST"});
    Head c("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(values(call(conf::FetchId::path), c.msg).empty());   // HAProxy: no path sample for '*'
    CHECK(values(call(conf::FetchId::url), c.msg) == Strings{"*"});
}

TEST_CASE("no request (tcp mode), a response, or a non-HTTP fetch gives no sample") {
    proxy::Sample s;
    CHECK_FALSE(proxy::fetch_http(hdr("host"), nullptr, 0, s));
    CHECK_FALSE(proxy::fetch_http(call(conf::FetchId::path), nullptr, 0, s));
    Head res("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
    CHECK_FALSE(proxy::fetch_http(call(conf::FetchId::path), &res.msg, 0, s));
    CHECK(values(hdr("server"), res.msg) == Strings{"x"});
    Head req(kBrowser);
    CHECK_FALSE(proxy::fetch_http(call(conf::FetchId::src), &req.msg, 0, s));
    CHECK(proxy::is_http_fetch(hdr("x")));
    CHECK(proxy::is_http_fetch(call(conf::FetchId::method)));
    CHECK_FALSE(proxy::is_http_fetch(call(conf::FetchId::src)));
    CHECK_FALSE(proxy::is_http_fetch(call(conf::FetchId::nbsrv)));
}

TEST_CASE("hdr ACLs match any value of any occurrence, as haproxy 2.6 does") {
    CHECK(acl({"hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: a, b\r\n\r\n")));
    CHECK(acl({"hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: a\r\nX-A: b\r\n\r\n")));
    CHECK(acl({"req.hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: a,b \r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: \"x,b\"\r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: a;b\r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-a)", "b"}, Head("GET / HTTP/1.1\r\nx-a: B\r\n\r\n")));
    CHECK(acl({"hdr(x-a)", "-i", "b"}, Head("GET / HTTP/1.1\r\nx-a: B\r\n\r\n")));
    CHECK(acl({"hdr(x-o,2)", "two"}, Head("GET / HTTP/1.1\r\nx-o: one\r\nx-o: two, three\r\n\r\n")));
    CHECK(acl({"hdr(x-n,-1)", "last"}, Head("GET / HTTP/1.1\r\nx-n: first, last\r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-n,-1)", "last"}, Head("GET / HTTP/1.1\r\nx-n: last, first\r\n\r\n")));
    CHECK(acl({"hdr(x-e)", "-m", "len", "0"}, Head("GET / HTTP/1.1\r\nx-e: a,,b\r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-e)", "-m", "len", "0"}, Head("GET / HTTP/1.1\r\nx-e: a\r\n\r\n")));
    CHECK(acl({"hdr(x-a)", "-m", "found"}, Head("GET / HTTP/1.1\r\nx-a:\r\n\r\n")));
    CHECK_FALSE(acl({"hdr(x-a)", "-m", "found"}, Head("GET / HTTP/1.1\r\nx-b: 1\r\n\r\n")));
}

TEST_CASE("hdr_beg, hdr_end, hdr_sub, hdr_dom, hdr_dir, hdr_len and hdr_cnt on a browser request") {
    Head h(kBrowser);
    CHECK(acl({"hdr_beg(user-agent)", "Mozilla/"}, h));
    CHECK_FALSE(acl({"hdr_beg(user-agent)", "mozilla/"}, h));
    CHECK(acl({"hdr_beg(user-agent)", "-i", "mozilla/"}, h));
    CHECK(acl({"hdr_end(accept-language)", "q=0.9"}, h));
    CHECK(acl({"hdr_end(accept)", "*/*;q=0.8"}, h));
    CHECK(acl({"hdr_sub(User-Agent)", "-i", "curl", "firefox"}, h));
    CHECK_FALSE(acl({"hdr_sub(User-Agent)", "curl", "wget"}, h));
    CHECK(acl({"hdr_dom(host)", "-i", "example"}, h));
    CHECK(acl({"hdr_dom(host)", "-i", "www.example.com"}, h));
    CHECK(acl({"hdr_dom(host)", "8080"}, h));
    CHECK_FALSE(acl({"hdr_dom(host)", "exam"}, h));
    CHECK_FALSE(acl({"hdr_dom(host)", "example"}, h));   // case matters without -i
    CHECK(acl({"hdr_dir(accept)", "xml;q=0.9"}, h));
    CHECK(acl({"hdr_len(cookie)", "3"}, h));
    CHECK_FALSE(acl({"hdr_len(cookie)", "gt", "3"}, h));
    CHECK(acl({"hdr_cnt(x-forwarded-for)", "3"}, h));
    CHECK(acl({"hdr_cnt(cookie)", "eq", "2"}, h));
    CHECK(acl({"hdr_cnt(x-absent)", "0"}, h));
    CHECK(acl({"req.hdr_cnt(accept)", "ge", "4"}, h));
}

TEST_CASE("path, url and method ACLs with every match method") {
    Head h(kBrowser);
    CHECK(acl({"path", "/api/v1/users.json"}, h));
    CHECK_FALSE(acl({"path", "/api/v1/users.json?id=7&x=y"}, h));
    CHECK(acl({"path_beg", "/api/", "/static/"}, h));
    CHECK_FALSE(acl({"path_beg", "/API/"}, h));
    CHECK(acl({"path_beg", "-i", "/API/"}, h));
    CHECK(acl({"path_end", ".json", ".xml"}, h));
    CHECK(acl({"path_sub", "v1/users"}, h));
    CHECK(acl({"path_dir", "v1"}, h));
    CHECK_FALSE(acl({"path_dir", "v"}, h));
    CHECK(acl({"path_dom", "json"}, h));
    CHECK(acl({"path_len", "18"}, h));
    CHECK(acl({"url", "/api/v1/users.json?id=7&x=y"}, h));
    CHECK(acl({"url_beg", "/api"}, h));
    CHECK(acl({"url_end", "x=y"}, h));
    CHECK(acl({"url_sub", "id=7"}, h));
    CHECK(acl({"url_len", "gt", "20"}, h));
    CHECK(acl({"method", "GET", "HEAD"}, h));
    CHECK_FALSE(acl({"method", "POST"}, h));
    CHECK_FALSE(acl({"method", "-i", "get"}, h));   // a known method matches exactly (HAProxy)
    CHECK(acl({"method", "-i", "purge"}, Head("PURGE /x HTTP/1.1\r\n\r\n")));
}

TEST_CASE("lower and upper converters work on header samples") {
    Head h(kBrowser);
    CHECK(acl({"hdr(host),lower", "www.example.com:8080"}, h));
    CHECK_FALSE(acl({"hdr(host)", "www.example.com:8080"}, h));
    CHECK(acl({"hdr(accept-language),upper", "-m", "beg", "NB"}, h));
    CHECK(acl({"path,upper", "-m", "end", ".JSON"}, h));
    CHECK(acl({"hdr(x-forwarded-for),lower", "10.0.0.3"}, h));
}

TEST_CASE("path_and_query keeps the query and strips the authority of absolute-form targets") {
    CHECK(proxy::path_and_query("/a/b?c=d") == "/a/b?c=d");
    CHECK(proxy::path_and_query("http://h.example:81/a?b") == "/a?b");
    CHECK(proxy::path_and_query("https://h.example") == "/");
    CHECK(proxy::path_and_query("*").empty());
    CHECK(proxy::path_and_query("h.example:443") == "h.example:443");
}
