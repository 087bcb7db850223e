// Error pages, reason phrases, errorfile overrides and the connection header added to answers
// skjold makes itself. Expected bytes are what haproxy 2.6.12 sent on 127.0.0.1 for the same
// status (`http-request deny deny_status N`) and request.
#include <doctest/doctest.h>

#include <string>

#include "tests/unit/proxy/http_head.hh"
#include "proxy/http_errors.hh"
#include "tests/unit/temp_file.hh"

using namespace skjold;
using test::Head;

namespace {

struct Sent {
    std::string bytes;
    bool close = false;
};

Sent send(std::string_view response, const proxy::HttpMessage* req, const conf::Proxy& px, std::size_t cap = 4096) {
    std::string out(cap, '\0');
    proxy::Reply r = proxy::write_reply(response, req, px, out.data(), out.size());
    out.resize(r.len);
    return {out, r.close};
}

const std::string k403 =
    "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
    "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n";

}  // namespace

TEST_CASE("default pages are haproxy 2.6's bytes") {
    CHECK(proxy::default_error_response(403) == k403);
    CHECK(proxy::default_error_response(400) ==
          "HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "connection: close\r\n\r\n"
          "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n");
    CHECK(proxy::default_error_response(503) ==
          "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n"
          "</body></html>\n");
    CHECK(proxy::default_error_response(501) ==
          "HTTP/1.1 501 Not Implemented\r\ncontent-length: 136\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
          "\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to "
          "fulfill the request.\n</body></html>\n");
    CHECK(proxy::default_error_response(200) ==
          "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
          "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n");
}

TEST_CASE("every default page's content-length is its body's length and its status line names the code") {
    for (int code : {200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}) {
        CAPTURE(code);
        std::string_view p = proxy::default_error_response(code);
        CHECK(p.starts_with("HTTP/1.1 " + std::to_string(code) + " "));
        std::size_t end = p.find("\r\n\r\n");
        REQUIRE(end != std::string_view::npos);
        std::string cl = "content-length: " + std::to_string(p.size() - end - 4) + "\r\n";
        CHECK(p.find(cl) != std::string_view::npos);
        CHECK(p.find("<h1>" + std::to_string(code) + " ") != std::string_view::npos);
    }
}

TEST_CASE("a status without a page gets the 500 page, as HAProxy") {
    CHECK(proxy::default_error_response(418) == proxy::default_error_response(500));
    CHECK(proxy::default_error_response(431).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}

TEST_CASE("reason phrases are HAProxy's, with class names for unlisted codes") {
    CHECK(proxy::reason_phrase(200) == "OK");
    CHECK(proxy::reason_phrase(201) == "Created");
    CHECK(proxy::reason_phrase(302) == "Moved Temporarily");
    CHECK(proxy::reason_phrase(408) == "Request Time-out");
    CHECK(proxy::reason_phrase(422) == "Unprocessable Content");
    CHECK(proxy::reason_phrase(502) == "Bad Gateway or Proxy Error");
    CHECK(proxy::reason_phrase(299) == "Success");
    CHECK(proxy::reason_phrase(399) == "Redirection");
    CHECK(proxy::reason_phrase(432) == "Client Error");
    CHECK(proxy::reason_phrase(599) == "Server Error");
}

TEST_CASE("errorfile replaces the page of its code only; LF-only heads are sent with CRLF") {
    test::TempFile f403("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nnope\n", "403.http");
    test::TempFile f503("HTTP/1.0 503 Busy\nContent-Length: 5\nX-A: b\n\nbusy\n", "503.http");
    auto snap = test::load("frontend fe\n  mode http\n  errorfile 403 " + f403.path + "\n  errorfile 503 " + f503.path + "\n");
    const conf::Proxy& fe = snap->proxies.at(0);
    CHECK(proxy::error_response(fe, 403) ==
          "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nnope\n");
    CHECK(proxy::error_response(fe, 503) == "HTTP/1.0 503 Busy\r\nContent-Length: 5\r\nX-A: b\r\n\r\nbusy\n");
    CHECK(proxy::error_response(fe, 404) == proxy::default_error_response(404));
    Head req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    Sent s = send(proxy::error_response(fe, 503), &req.msg, fe);
    CHECK(s.bytes == "HTTP/1.0 503 Busy\r\nContent-Length: 5\r\nX-A: b\r\nconnection: keep-alive\r\n\r\nbusy\n");
    CHECK_FALSE(s.close);
}

TEST_CASE("an errorfile that is missing or not an HTTP response fails the load with FILE:LINE") {
    CHECK(test::load_error("frontend fe\n  mode http\n  errorfile 403 /nonexistent/403.http\n").starts_with("t.cfg:3: "));
    test::TempFile bad("<html>oops</html>\n", "bad.http");
    CHECK(test::load_error("frontend fe\n  mode http\n  errorfile 403 " + bad.path + "\n").starts_with("t.cfg:3: "));
}

TEST_CASE("answers keep an HTTP/1.1 connection and close HTTP/1.0 unless it asked for keep-alive") {
    conf::Proxy px;
    Head h11("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    Sent s = send(k403, &h11.msg, px);
    CHECK(s.bytes == k403);
    CHECK_FALSE(s.close);

    Head h11c("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, close\r\n\r\n");
    s = send(k403, &h11c.msg, px);
    CHECK(s.bytes.find("content-type: text/html\r\nconnection: close\r\n\r\n<html>") != std::string::npos);
    CHECK(s.close);

    Head h10("GET / HTTP/1.0\r\n\r\n");
    s = send(k403, &h10.msg, px);
    CHECK(s.bytes.find("content-type: text/html\r\nconnection: close\r\n\r\n") != std::string::npos);
    CHECK(s.close);

    Head h10k("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    s = send(k403, &h10k.msg, px);
    CHECK(s.bytes == "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
                     "connection: keep-alive\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by "
                     "administrative rules.\n</body></html>\n");
    CHECK_FALSE(s.close);

    px.http_conn_mode = conf::HttpConnMode::close;   // option httpclose
    s = send(k403, &h11.msg, px);
    CHECK(s.bytes.find("connection: close\r\n\r\n") != std::string::npos);
    CHECK(s.close);
}

TEST_CASE("400 and 408 pages close by themselves and get no second connection header") {
    conf::Proxy px;
    Head h10k("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    Sent s = send(proxy::default_error_response(400), &h10k.msg, px);
    CHECK(s.bytes == proxy::default_error_response(400));
    CHECK(s.close);
    s = send(proxy::default_error_response(408), nullptr, px);
    CHECK(s.bytes == proxy::default_error_response(408));
    CHECK(s.close);
    s = send(proxy::default_error_response(503), nullptr, px);   // no request: sent as is
    CHECK(s.bytes == proxy::default_error_response(503));
    CHECK_FALSE(s.close);
}

TEST_CASE("a HEAD request gets the head without the body, content-length kept") {
    conf::Proxy px;
    Head head("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    Sent s = send(k403, &head.msg, px);
    CHECK(s.bytes == "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n");
    CHECK_FALSE(s.close);
}

TEST_CASE("an errorfile without content-length closes; an empty one closes without answering") {
    conf::Proxy px;
    Head req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    Sent s = send("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\ncustom body\n", &req.msg, px);
    CHECK(s.bytes == "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nconnection: close\r\n\r\ncustom body\n");
    CHECK(s.close);
    s = send("", &req.msg, px);
    CHECK(s.bytes.empty());
    CHECK(s.close);
    s = send("HTTP/1.1 503 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", &req.msg, px);
    CHECK(s.bytes == "HTTP/1.1 503 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(s.close);
}

TEST_CASE("a reply larger than the output buffer is not written") {
    conf::Proxy px;
    Head req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(send(k403, &req.msg, px, k403.size()).bytes == k403);
    CHECK(send(k403, &req.msg, px, k403.size() - 1).bytes.empty());
    Head h10("GET / HTTP/1.0\r\n\r\n");
    CHECK(send(k403, &h10.msg, px, k403.size()).bytes.empty());   // + "connection: close" does not fit
}
