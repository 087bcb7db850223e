#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http_hop.hh"
#include "proxy/http_message.hh"

using skjold::proxy::HttpMessage;

namespace {

std::string wire(const HttpMessage& m) {
    std::string out(m.wire_size(), '\0');
    std::size_t n = m.serialize(out.data(), out.size());
    out.resize(n);
    return out;
}

}  // namespace

TEST_CASE("a built request serialises to the exact wire bytes") {
    std::vector<char> block(4096);
    HttpMessage m;
    m.reset(block.data(), static_cast<std::uint32_t>(block.size()));
    REQUIRE(m.set_request_line("GET", "/x?y=1", 11));
    REQUIRE(m.add_header("Host", "example.org"));
    REQUIRE(m.add_header("Accept", "*/*"));
    CHECK(wire(m) == "GET /x?y=1 HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n");
    CHECK(m.wire_size() == wire(m).size());
    CHECK(m.is_request());
}

TEST_CASE("a status line serialises with its code and reason, HTTP/1.0 kept") {
    std::vector<char> block(1024);
    HttpMessage m;
    m.reset(block.data(), 1024);
    REQUIRE(m.set_status_line(10, 404, "Not Found"));
    REQUIRE(m.add_header("Content-Length", "0"));
    CHECK(wire(m) == "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(m.is_request());
    CHECK(m.status() == 404);
}

TEST_CASE("del_header removes every line of a name, case-insensitively, and set_header replaces them") {
    std::vector<char> block(2048);
    HttpMessage m;
    m.reset(block.data(), 2048);
    m.set_request_line("GET", "/", 11);
    m.add_header("X-A", "1");
    m.add_header("Host", "h");
    m.add_header("x-a", "2");
    CHECK(m.del_header("X-a") == 2);
    CHECK(m.live_headers() == 1);
    CHECK_FALSE(m.find("x-a").has_value());
    CHECK(wire(m) == "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(m.set_header("host", "new"));
    CHECK(wire(m) == "GET / HTTP/1.1\r\nhost: new\r\n\r\n");
    CHECK(m.del_header("absent") == 0);
}

TEST_CASE("for_each visits every live line of a name in order") {
    std::vector<char> block(2048);
    HttpMessage m;
    m.reset(block.data(), 2048);
    m.set_request_line("GET", "/", 11);
    m.add_header("Via", "a");
    m.add_header("Other", "x");
    m.add_header("VIA", "b, c");
    m.add_header("via", "d");
    m.del_header_at(3);
    std::vector<std::string> seen;
    m.for_each("via", [&](std::string_view v) { seen.emplace_back(v); });
    CHECK(seen == std::vector<std::string>{"a", "b, c"});
}

TEST_CASE("path and query follow the request-target form") {
    std::vector<char> block(2048);
    HttpMessage m;
    struct Case { const char* uri; const char* path; const char* query; };
    for (auto c : {Case{"/a/b?c=d", "/a/b", "c=d"}, Case{"/", "/", ""}, Case{"/p?", "/p", ""},
                   Case{"http://h.example:8080/x/y?q", "/x/y", "q"}, Case{"http://h.example", "", ""},
                   Case{"*", "*", ""}}) {
        CAPTURE(c.uri);
        m.reset(block.data(), 2048);
        m.set_request_line("GET", c.uri, 11);
        CHECK(m.path() == c.path);
        CHECK(m.query() == c.query);
    }
}

TEST_CASE("a full storage refuses an edit and leaves the message unchanged") {
    std::vector<char> block(128);
    HttpMessage m;
    m.reset(block.data(), 128);
    REQUIRE(m.set_request_line("GET", "/", 11));
    REQUIRE(m.add_header("Host", "h"));
    std::string before = wire(m);
    CHECK_FALSE(m.add_header("X-Big", std::string(200, 'x')));
    CHECK_FALSE(m.set_header("Host", std::string(200, 'x')));
    CHECK(wire(m) == before);
    CHECK(m.find("host") == "h");
}

TEST_CASE("serialize refuses an output buffer that is too small") {
    std::vector<char> block(512);
    HttpMessage m;
    m.reset(block.data(), 512);
    m.set_request_line("GET", "/", 11);
    m.add_header("Host", "h");
    std::vector<char> out(m.wire_size() - 1);
    CHECK(m.serialize(out.data(), out.size()) == 0);
}

TEST_CASE("pieces appended by the parser join into one token each") {
    std::vector<char> block(512);
    HttpMessage m;
    m.reset(block.data(), 512);
    using P = HttpMessage::Part;
    m.append(P::method, "PO");
    m.append(P::method, "ST");
    m.end_part();
    m.append(P::uri, "/u");
    m.end_part();
    m.append(P::header_name, "Ho");
    m.append(P::header_name, "st");
    m.end_part();
    m.append(P::header_value, "exa");
    m.append(P::header_value, "mple ");
    m.end_part();
    m.append(P::header_name, "Empty");
    m.end_part();
    m.end_part();
    m.append(P::header_name, "Next");
    m.end_part();
    m.append(P::header_value, "n");
    CHECK(m.method() == "POST");
    CHECK(m.uri() == "/u");
    CHECK(m.header_slots() == 3);
    CHECK(m.find("host") == "example");
    CHECK(m.find("empty") == "");
    CHECK(m.find("next") == "n");
}

// Hop-by-hop handling (proxy/http_hop.hh) works on HttpMessage: tested here.

TEST_CASE("hop-by-hop fields and those named in Connection are removed, framing fields are protected") {
    std::vector<char> block(2048);
    HttpMessage m;
    m.reset(block.data(), 2048);
    m.set_request_line("GET", "/", 11);
    m.add_header("Host", "h");
    m.add_header("Connection", "keep-alive, X-Secret, Content-Length, close");
    m.add_header("X-Secret", "s");
    m.add_header("Keep-Alive", "timeout=5");
    m.add_header("Proxy-Connection", "keep-alive");
    m.add_header("TE", "trailers");
    m.add_header("Upgrade", "websocket");
    m.add_header("Content-Length", "0");
    m.add_header("X-Kept", "k");
    auto hop = skjold::proxy::strip_hop_by_hop(m, false);
    CHECK(hop.close);
    CHECK(hop.keep_alive);
    CHECK_FALSE(hop.upgrade);
    CHECK(wire(m) == "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-Kept: k\r\n\r\n");
}

TEST_CASE("an upgrade request keeps its Upgrade field when asked to") {
    std::vector<char> block(1024);
    HttpMessage m;
    m.reset(block.data(), 1024);
    m.set_request_line("GET", "/ws", 11);
    m.add_header("Connection", "Upgrade");
    m.add_header("Upgrade", "websocket");
    auto hop = skjold::proxy::strip_hop_by_hop(m, true);
    CHECK(hop.upgrade);
    CHECK(m.find("upgrade") == "websocket");
    CHECK_FALSE(m.find("connection").has_value());
    // Without "upgrade" in Connection, an Upgrade field is only informative: removed.
    m.reset(block.data(), 1024);
    m.set_request_line("GET", "/", 11);
    m.add_header("Upgrade", "h2c");
    hop = skjold::proxy::strip_hop_by_hop(m, true);
    CHECK_FALSE(hop.upgrade);
    CHECK_FALSE(m.find("upgrade").has_value());
}
