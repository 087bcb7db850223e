#include "health/http_check.hh"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace skjold;
using health::CheckStatus;
using health::HttpCheck;

namespace {

std::unique_ptr<HttpCheck> compile(conf::HttpCheck c) {
    c.enabled = true;
    auto h = HttpCheck::compile(c);
    REQUIRE(h);
    return std::move(*h);
}

conf::HttpCheck expecting(conf::HttpCheck::Expect e, std::string arg) {
    conf::HttpCheck c;
    c.expect = e;
    c.expect_arg = std::move(arg);
    return c;
}

}  // namespace

TEST_CASE("option httpchk without arguments sends OPTIONS / HTTP/1.0 and Connection: close") {
    auto h = compile({});
    CHECK(h->request() == "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http-check send headers go out as configured, without an invented Host") {
    conf::HttpCheck c;
    c.method = "GET";
    c.uri = "/healthz";
    c.version = "HTTP/1.1";
    c.headers = {{"Host", "app.example"}, {"X-Probe", "skjold"}};
    CHECK(compile(c)->request() ==
          "GET /healthz HTTP/1.1\r\nHost: app.example\r\nX-Probe: skjold\r\nConnection: close\r\n\r\n");
    c.headers = {{"connection", "keep-alive"}};
    CHECK(compile(c)->request() == "GET /healthz HTTP/1.1\r\nconnection: keep-alive\r\n\r\n");
}

TEST_CASE("2xx and 3xx pass by default; other codes are L7STS with the reason phrase as info") {
    auto h = compile({});
    auto ok = h->judge("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
    CHECK(ok.done);
    CHECK(ok.status == CheckStatus::l7ok);
    CHECK(ok.code == 200);
    CHECK(ok.desc.empty());
    CHECK(h->judge("HTTP/1.0 302 Found\r\n\r\n", false).status == CheckStatus::l7ok);
    auto bad = h->judge("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno", false);
    CHECK(bad.done);
    CHECK(bad.status == CheckStatus::l7sts);
    CHECK(bad.code == 503);
    CHECK(bad.desc == "Service Unavailable");
    auto nf = h->judge("HTTP/1.1 404 Not Found\r\n\r\n", false);
    CHECK(nf.status == CheckStatus::l7sts);
    CHECK(nf.desc == "Not Found");
    auto noreason = h->judge("HTTP/1.1 500 \r\n\r\n", false);
    CHECK(noreason.status == CheckStatus::l7sts);
    CHECK(noreason.desc.empty());
}

TEST_CASE("the judge waits for the end of the header block before deciding") {
    auto h = compile({});
    CHECK_FALSE(h->judge("HTTP/1.1 200 OK\r\nServer: x\r\n", false).done);
    CHECK_FALSE(h->judge("HTT", false).done);
    auto cut = h->judge("HTTP/1.1 200 OK\r\nServer: x\r\n", true);   // peer closed mid-header
    CHECK(cut.done);
    CHECK(cut.status == CheckStatus::l7rsp);
}

TEST_CASE("an answer that is not HTTP, or no answer at all, is L7RSP without info") {
    auto h = compile({});
    auto garbage = h->judge("HELLO WORLD\r\n\r\n", false);
    CHECK(garbage.done);
    CHECK(garbage.status == CheckStatus::l7rsp);
    CHECK(garbage.desc.empty());
    auto empty = h->judge("", true);
    CHECK(empty.done);
    CHECK(empty.status == CheckStatus::l7rsp);
    CHECK(h->judge("HTTP/1.1 2x0 OK\r\n\r\n", false).status == CheckStatus::l7rsp);
}

TEST_CASE("http-check expect status accepts a single code, lists and ranges") {
    auto h = compile(expecting(conf::HttpCheck::Expect::status, "204"));
    CHECK(h->judge("HTTP/1.1 204 No Content\r\n\r\n", false).status == CheckStatus::l7ok);
    auto v = h->judge("HTTP/1.1 200 OK\r\n\r\n", false);
    CHECK(v.status == CheckStatus::l7sts);
    CHECK(v.desc == "OK");
    auto list = compile(expecting(conf::HttpCheck::Expect::status, "200-299,404"));
    CHECK(list->judge("HTTP/1.1 404 Not Found\r\n\r\n", false).status == CheckStatus::l7ok);
    CHECK(list->judge("HTTP/1.1 250 Odd\r\n\r\n", false).status == CheckStatus::l7ok);
    CHECK(list->judge("HTTP/1.1 302 Found\r\n\r\n", false).status == CheckStatus::l7sts);
}

TEST_CASE("http-check expect rstatus matches the status code text") {
    auto h = compile(expecting(conf::HttpCheck::Expect::rstatus, "^3"));
    CHECK(h->judge("HTTP/1.1 301 Moved\r\n\r\n", false).status == CheckStatus::l7ok);
    auto v = h->judge("HTTP/1.1 200 OK\r\n\r\n", false);
    CHECK(v.status == CheckStatus::l7sts);
    CHECK(v.code == 200);
}

TEST_CASE("http-check expect string looks in the body, whatever the status") {
    auto h = compile(expecting(conf::HttpCheck::Expect::string, "OK"));
    auto hit = h->judge("HTTP/1.1 500 Oops\r\nContent-Length: 9\r\n\r\nstatus=OK", false);
    CHECK(hit.done);
    CHECK(hit.status == CheckStatus::l7ok);
    CHECK(hit.code == 500);
    // Body incomplete and no match yet: wait; complete without match: L7RSP.
    CHECK_FALSE(h->judge("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nstat", false).done);
    auto miss = h->judge("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAIL", false);
    CHECK(miss.done);
    CHECK(miss.status == CheckStatus::l7rsp);
    CHECK(miss.desc == "HTTP content check did not match");
    auto none = h->judge("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
    CHECK(none.done);
    CHECK(none.status == CheckStatus::l7rsp);
    CHECK(none.desc == "HTTP content check could not find a response body");
    // Without a length the body ends with the connection.
    CHECK_FALSE(h->judge("HTTP/1.0 200 OK\r\n\r\nno", false).done);
    CHECK(h->judge("HTTP/1.0 200 OK\r\n\r\nno", true).status == CheckStatus::l7rsp);
    // Bytes after Content-Length are not part of the body.
    CHECK(h->judge("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nnoOK", false).status == CheckStatus::l7rsp);
}

TEST_CASE("bare LF line ends are accepted, as HAProxy's parser does") {
    auto h = compile({});
    CHECK(h->judge("HTTP/1.0 200 OK\n\n", false).status == CheckStatus::l7ok);
}
