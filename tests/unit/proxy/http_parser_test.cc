#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http_message.hh"
#include "proxy/http_parser.hh"
#include "tests/unit/proxy/malformed_requests.hh"

using skjold::proxy::HttpMessage;
using skjold::proxy::HttpParser;
using Event = HttpParser::Event;
using namespace std::string_view_literals;

namespace {

constexpr std::uint32_t kBufsize = 16384;
constexpr std::uint32_t kHeadLimit = kBufsize - 1024;

// One parser and one message over a tune.bufsize block, as the session holds them.
struct Fixture {
    explicit Fixture(HttpParser::Type t) : parser(t), storage(kBufsize) {}
    void start(bool no_body = false) {
        msg.reset(storage.data(), kBufsize);
        parser.start(&msg, kHeadLimit, no_body);
    }
    HttpParser parser;
    std::vector<char> storage;
    HttpMessage msg;
};

struct Outcome {
    Event event;
    std::size_t consumed;   // bytes of the input up to the event
};

// Feeds `in` in pieces of `piece` bytes (0: all at once) until an event other than need_more.
Outcome feed_until_event(HttpParser& p, std::string_view in, std::size_t piece = 0) {
    std::size_t off = 0;
    while (off < in.size()) {
        std::size_t n = piece == 0 ? in.size() - off : std::min(piece, in.size() - off);
        auto st = p.feed(in.data() + off, n);
        off += st.consumed;
        if (st.event != Event::need_more) return {st.event, off};
    }
    auto st = p.feed(in.data() + off, 0);   // drives a message without body to its end
    return {st.event, off};
}

// Parses a whole message (head then body) and returns where it ended.
Outcome parse_message(Fixture& f, std::string_view in, std::size_t piece = 0, bool no_body = false) {
    f.start(no_body);
    Outcome head = feed_until_event(f.parser, in, piece);
    if (head.event != Event::head_done) return head;
    Outcome rest = feed_until_event(f.parser, in.substr(head.consumed), piece);
    return {rest.event, head.consumed + rest.consumed};
}

}  // namespace

TEST_CASE("every malformed request of the shared table is refused with its status") {
    for (const auto& c : skjold::test::kMalformedRequests) {
        for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
            CAPTURE(c.name);
            CAPTURE(piece);
            Fixture f(HttpParser::Type::request);
            Outcome o = parse_message(f, c.raw, piece);
            // The head must never be reported complete: nothing of it may be forwarded.
            CHECK(o.event == Event::error);
            CHECK(f.parser.status() == c.status);
        }
    }
    CHECK(std::size(skjold::test::kMalformedRequests) >= 30);
}

TEST_CASE("exactly 100 header lines are accepted, as HAProxy's tune.http.maxhdr 101") {
    Fixture f(HttpParser::Type::request);
    Outcome o = parse_message(f, skjold::test::kHundredHeaders.view());
    CHECK(o.event == Event::message_done);
    CHECK(f.msg.header_slots() == 100);
    CHECK(f.msg.header_value(99) == "v");
}

TEST_CASE("repeated equal Content-Length lines are accepted as HAProxy does, differing ones are not") {
    Fixture f(HttpParser::Type::request);
    Outcome o = parse_message(f, "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhelloGET"sv, 1);
    CHECK(o.event == Event::message_done);
    CHECK(o.consumed == 62);   // the head (57 bytes) and "hello"
    CHECK(f.parser.content_length() == 5);
    o = parse_message(f, "POST / HTTP/1.1\r\nContent-Length: 5\r\nX: y\r\nContent-Length: 50\r\n\r\nhello"sv);
    CHECK(o.event == Event::error);
    CHECK(f.parser.status() == 400);
}

TEST_CASE("an unknown but well-formed method is answered 501, a malformed one 400") {
    Fixture f(HttpParser::Type::request);
    CHECK(parse_message(f, "FOO / HTTP/1.1\r\nHost: a\r\n\r\n").event == Event::error);
    CHECK(f.parser.status() == 501);
    CHECK(parse_message(f, "F(O / HTTP/1.1\r\nHost: a\r\n\r\n").event == Event::error);
    CHECK(f.parser.status() == 400);
}

TEST_CASE("a simple GET head fills the message and stops right after the empty line") {
    Fixture f(HttpParser::Type::request);
    std::string_view in = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.org\r\nX-Pad:   v  w \t\r\n\r\nNEXT"sv;
    f.start();
    auto st = f.parser.feed(in.data(), in.size());
    REQUIRE(st.event == Event::head_done);
    CHECK(in.substr(st.consumed) == "NEXT");
    CHECK(f.msg.method() == "GET");
    CHECK(f.msg.uri() == "/a/b?x=1");
    CHECK(f.msg.path() == "/a/b");
    CHECK(f.msg.query() == "x=1");
    CHECK(f.msg.version() == 11);
    CHECK(f.msg.find("host") == "example.org");
    CHECK(f.msg.find("x-pad") == "v  w");
    CHECK(f.parser.body() == HttpParser::Body::none);
    // No body: the message ends without consuming the next request's bytes.
    auto end = f.parser.feed(in.data() + st.consumed, in.size() - st.consumed);
    CHECK(end.event == Event::message_done);
    CHECK(end.consumed == 0);
}

TEST_CASE("three pipelined requests in one buffer end at their own boundaries") {
    std::string_view in =
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"sv;
    Fixture f(HttpParser::Type::request);
    std::vector<std::string> uris;
    std::size_t off = 0;
    for (int i = 0; i < 3; ++i) {
        Outcome o = parse_message(f, in.substr(off));
        REQUIRE(o.event == Event::message_done);
        uris.emplace_back(f.msg.uri());
        off += o.consumed;
    }
    CHECK(off == in.size());
    CHECK(uris == std::vector<std::string>{"/1", "/2", "/3"});
}

TEST_CASE("a chunked body with extensions and trailers is framed whole, however it is split") {
    std::string_view in =
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n"
        "6;ext\r\n world\r\n"
        "0\r\nX-Trailer: t\r\n\r\n"
        "GET /next HTTP/1.1\r\n\r\n"sv;
    const std::size_t end = in.find("GET /next");
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{16}}) {
        CAPTURE(piece);
        Fixture f(HttpParser::Type::request);
        Outcome o = parse_message(f, in, piece);
        CHECK(o.event == Event::message_done);
        CHECK(o.consumed == end);
        CHECK(f.parser.body() == HttpParser::Body::chunked);
        // Trailers are forwarded raw, never added to the head.
        CHECK_FALSE(f.msg.find("x-trailer").has_value());
    }
}

TEST_CASE("a malformed chunk size fails after the head, which was valid") {
    Fixture f(HttpParser::Type::request);
    std::string_view in = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"sv;
    Outcome o = parse_message(f, in);
    CHECK(o.event == Event::error);
    CHECK(f.parser.status() == 400);
}

TEST_CASE("HTTP/1.0 requests parse with version 10 and keep their Connection header") {
    Fixture f(HttpParser::Type::request);
    Outcome o = parse_message(f, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(o.event == Event::message_done);
    CHECK(f.msg.version() == 10);
    CHECK(f.msg.find("connection") == "keep-alive");
}

TEST_CASE("a header value may be split across feeds at any byte without being taken for obs-fold") {
    std::string_view in = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one two three\r\n\r\n"sv;
    for (std::size_t piece = 1; piece < in.size(); ++piece) {
        CAPTURE(piece);
        Fixture f(HttpParser::Type::request);
        Outcome o = parse_message(f, in, piece);
        REQUIRE(o.event == Event::message_done);
        CHECK(f.msg.find("x-long") == "one two three");
    }
}

TEST_CASE("an Upgrade request ends after its head and reports the upgrade") {
    Fixture f(HttpParser::Type::request);
    std::string_view in =
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"sv;
    f.start();
    auto st = f.parser.feed(in.data(), in.size());
    REQUIRE(st.event == Event::head_done);
    CHECK(f.parser.upgrade());
    auto end = f.parser.feed(in.data() + st.consumed, in.size() - st.consumed);
    CHECK(end.event == Event::upgrade);
    CHECK(end.consumed == 0);   // the frames after the head belong to the tunnel
}

TEST_CASE("responses: length, HEAD, 204, 304, 1xx and until-close framing") {
    Fixture f(HttpParser::Type::response);
    SUBCASE("content-length") {
        Outcome o = parse_message(f, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1"sv);
        CHECK(o.event == Event::message_done);
        CHECK(o.consumed == 41);
        CHECK(f.msg.status() == 200);
        CHECK(f.msg.reason() == "OK");
        CHECK(f.parser.body() == HttpParser::Body::length);
        CHECK(f.parser.content_length() == 3);
    }
    SUBCASE("a response to HEAD has no body whatever its Content-Length says") {
        Outcome o = parse_message(f, "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n"sv, 0, true);
        CHECK(o.event == Event::message_done);
        CHECK(f.parser.body() == HttpParser::Body::none);
    }
    SUBCASE("204 and 304 have no body") {
        CHECK(parse_message(f, "HTTP/1.1 204 No Content\r\n\r\n"sv).event == Event::message_done);
        CHECK(f.parser.body() == HttpParser::Body::none);
        CHECK(parse_message(f, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"sv).event ==
              Event::message_done);
        CHECK(f.parser.body() == HttpParser::Body::none);
    }
    SUBCASE("100 Continue is a message of its own, then the final response") {
        std::string_view in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"sv;
        Outcome o = parse_message(f, in);
        CHECK(o.event == Event::message_done);
        CHECK(f.msg.status() == 100);
        Outcome o2 = parse_message(f, in.substr(o.consumed));
        CHECK(o2.event == Event::message_done);
        CHECK(f.msg.status() == 201);
    }
    SUBCASE("no length: the body runs until the server closes") {
        f.start();
        std::string_view in = "HTTP/1.1 200 OK\r\n\r\nsome bytes"sv;
        auto st = f.parser.feed(in.data(), in.size());
        REQUIRE(st.event == Event::head_done);
        CHECK(f.parser.body() == HttpParser::Body::until_close);
        auto body = f.parser.feed(in.data() + st.consumed, in.size() - st.consumed);
        CHECK(body.event == Event::need_more);
        CHECK(f.parser.finish().event == Event::message_done);
    }
    SUBCASE("a truncated length body is an error at close") {
        f.start();
        std::string_view in = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"sv;
        auto st = f.parser.feed(in.data(), in.size());
        REQUIRE(st.event == Event::head_done);
        f.parser.feed(in.data() + st.consumed, in.size() - st.consumed);
        CHECK(f.parser.finish().event == Event::error);
    }
    SUBCASE("101 Switching Protocols is an upgrade") {
        std::string_view in = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nxx"sv;
        f.start();
        auto st = f.parser.feed(in.data(), in.size());
        REQUIRE(st.event == Event::head_done);
        CHECK(f.parser.upgrade());
        CHECK(f.parser.feed(in.data() + st.consumed, 2).event == Event::upgrade);
    }
}

TEST_CASE("malformed responses are refused with 502") {
    for (std::string_view in : {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
                                "HTTP/1.1 2x0 OK\r\n\r\n"sv, "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n"sv,
                                "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n"sv, "garbage\r\n\r\n"sv,
                                "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"sv}) {
        CAPTURE(in);
        Fixture f(HttpParser::Type::response);
        Outcome o = parse_message(f, in);
        CHECK(o.event == Event::error);
        CHECK(f.parser.status() == 502);
    }
}
