// `mode http` proxying end to end (issue 3, Proxying): keep-alive, pipelining, chunked bodies both
// ways, 100-continue, HEAD/204/304, 5 MiB bodies checked by sha256, WebSocket upgrade with
// `timeout tunnel`. Raw clients where the bytes matter, curl where a real client's view matters.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

constexpr std::size_t k5MiB = 5 * 1024 * 1024;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("keep-alive: 100 requests on one client connection travel over one server connection") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_path);
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    REQUIRE(c.connected());
    int good = 0;
    for (int i = 0; i < 100; ++i) {
        auto path = "/r" + std::to_string(i);
        auto r = c.roundtrip(t::http_get(path));
        INFO("request " << i << ": " << r);
        if (!r.ok()) FAIL("the keep-alive connection broke");
        CHECK(r.status == 200);
        CHECK(r.body == path);
        CHECK_FALSE(r.has_token("Connection", "close"));
        good += r.status == 200 && r.body == path;
    }
    CHECK(good == 100);
    CHECK(be.requests() == 100);
    CHECK(be.accepted() == 1);      // one server connection for the whole client connection
    auto idle = c.wait_close(200ms);
    CHECK(idle.end == End::timeout);  // and the client connection is still open
    CHECK(idle.data.empty());

    // curl reuses its connection across a URL range: one connect for 20 transfers.
    auto before = be.accepted();
    auto res = t::curl({"-o", "/dev/null", "-w", "%{num_connects}\\n", t::url(lb.listener("fe"), "/c[1-20]")});
    INFO("curl: " << res.err);
    REQUIRE(res.exit_code == 0);
    int connects = 0, transfers = 0;
    std::istringstream lines(res.out);
    for (std::string l; std::getline(lines, l); ++transfers) connects += std::stoi(l);
    CHECK(transfers == 20);
    CHECK(connects == 1);
    CHECK(be.accepted() == before + 1);
    CHECK(lb.stop() == 0);
}

TEST_CASE("HTTP/1.0: closed after the response unless the client asks for keep-alive") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_path);
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    {
        auto c = t::HttpClient::open(lb.listener("fe"));
        auto r = c.roundtrip("GET /ten HTTP/1.0\r\nHost: skjold.test\r\n\r\n");
        INFO(r);
        CHECK(r.status == 200);
        CHECK(r.body == "/ten");
        CHECK(c.wait_close(2s).end == End::eof);
    }
    {
        auto c = t::HttpClient::open(lb.listener("fe"));
        auto r = c.roundtrip("GET /a HTTP/1.0\r\nHost: skjold.test\r\nConnection: keep-alive\r\n\r\n");
        INFO(r);
        CHECK(r.status == 200);
        CHECK(r.has_token("Connection", "keep-alive"));  // HTTP/1.0 keep-alive must be confirmed
        auto r2 = c.roundtrip("GET /b HTTP/1.0\r\nHost: skjold.test\r\nConnection: keep-alive\r\n\r\n");
        INFO(r2);
        CHECK(r2.body == "/b");
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE("pipelining: three requests in one write are answered in order") {
    t::Tempdir dir;
    // The first answer is the slowest: answering in arrival order is then the proxy's doing.
    t::HttpBackend be([](const t::SeenRequest& r) {
        auto reply = t::echo_path(r);
        if (r.path() == "/1") reply.delay = 150ms;
        return reply;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    REQUIRE(c.send(t::http_get("/1") + t::http_get("/2") + t::http_get("/3")));
    for (const char* want : {"/1", "/2", "/3"}) {
        auto r = c.read_final();
        INFO("expecting " << want << ": " << r);
        CHECK(r.status == 200);
        CHECK(r.body == want);
    }
    auto seen = be.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].target() == "/1");
    CHECK(seen[1].target() == "/2");
    CHECK(seen[2].target() == "/3");
    CHECK(lb.stop() == 0);
}

TEST_CASE("chunked: a chunked request body reaches the server and a chunked response the client") {
    t::Tempdir dir;
    const std::string payload = t::random_bytes(100000, 7);
    t::HttpBackend be([&payload](const t::SeenRequest& r) {
        if (r.method() == "POST") return t::echo_body(r);
        t::Reply reply = t::Reply::text(r.path() == "/big" ? payload : "three small chunks");
        reply.framing = t::Reply::Framing::chunked;
        reply.chunk = r.path() == "/big" ? 4096 : 6;
        return reply;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));

    auto up = c.roundtrip(t::http_request("POST", "/up", {"Transfer-Encoding: chunked"}, t::chunk_body(payload, 1500)));
    INFO("upload: " << up);
    CHECK(up.status == 200);
    CHECK(up.body.size() == payload.size());
    CHECK(up.body == payload);
    auto seen = be.last();
    CHECK(seen.chunked);                 // streamed as chunks: a proxy that streams cannot know the length
    CHECK_FALSE(seen.header("Content-Length").has_value());
    CHECK(seen.body == payload);

    auto small = c.roundtrip(t::http_get("/small"));
    INFO("small chunked response: " << small);
    CHECK(small.status == 200);
    CHECK(small.body == "three small chunks");
    auto big = c.roundtrip(t::http_get("/big"));
    CHECK(big.status == 200);
    CHECK(big.body == payload);

    auto res = t::curl({t::url(lb.listener("fe"), "/small")});
    CHECK(res.exit_code == 0);
    CHECK(res.out == "three small chunks");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a response framed by the end of the connection reaches the client whole") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("no length, ends with the connection");
        r.framing = t::Reply::Framing::until_close;
        return r;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    auto r = c.roundtrip(t::http_get("/"));
    INFO(r);
    CHECK(r.status == 200);
    CHECK(r.body == "no length, ends with the connection");
    // Either re-framed (chunked) for an HTTP/1.1 client, or forwarded until close.
    CHECK((r.chunked || r.until_close || r.header("Content-Length").has_value()));
    CHECK(lb.stop() == 0);
}

TEST_CASE("Expect: 100-continue: the client gets 100 Continue before it sends the body") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_body);
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    const std::string body = t::random_bytes(5000, 3);
    auto c = t::HttpClient::open(lb.listener("fe"));
    REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: skjold.test\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
    auto interim = c.read_response(false, 3s);
    INFO("interim: " << interim);
    CHECK(interim.status == 100);
    REQUIRE(c.send(body));
    auto r = c.read_final();
    INFO("final: " << r);
    CHECK(r.status == 200);
    CHECK(r.body == body);
    CHECK(be.last().body == body);

    // curl waits for the 100 (-v shows it) before sending.
    auto file = dir.write("body.bin", body);
    auto res = t::curl({"-v", "-H", "Expect: 100-continue", "--expect100-timeout", "10", "--data-binary",
                        "@" + file.string(), t::url(lb.listener("fe"), "/curl")});
    CHECK(res.exit_code == 0);
    CHECK(res.out == body);
    CHECK(res.err.find("HTTP/1.1 100 Continue") != std::string::npos);
    CHECK(lb.stop() == 0);
}

TEST_CASE("HEAD, 204 and 304 responses have no body and the connection stays usable") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest& r) {
        t::Reply reply = t::Reply::text(r.path());
        if (r.method() == "HEAD" || r.path() == "/304") {
            reply.framing = t::Reply::Framing::none;      // the length a GET would have, and no body
            reply.headers.emplace_back("Content-Length", "1234");
        }
        if (r.path() == "/204") reply.framing = t::Reply::Framing::none;
        if (r.path() == "/204") reply.status = 204;
        if (r.path() == "/304") reply.status = 304;
        return reply;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    auto head = c.roundtrip(t::http_request("HEAD", "/head"), true);
    INFO("HEAD: " << head);
    CHECK(head.status == 200);
    CHECK(head.header("Content-Length") == "1234");
    auto no_content = c.roundtrip(t::http_get("/204"));
    INFO("204: " << no_content);
    CHECK(no_content.status == 204);
    auto not_modified = c.roundtrip(t::http_get("/304", {"If-None-Match: \"x\""}));
    INFO("304: " << not_modified);
    CHECK(not_modified.status == 304);
    // Had any of them been given a body, this response would be misframed.
    auto after = c.roundtrip(t::http_get("/after"));
    INFO("after: " << after);
    CHECK(after.status == 200);
    CHECK(after.body == "/after");
    CHECK(c.buffered().empty());
    CHECK(be.accepted() == 1);

    auto res = t::curl({"-I", "--max-time", "5", t::url(lb.listener("fe"), "/head")});
    CHECK(res.exit_code == 0);
    CHECK(res.out.find("1234") != std::string::npos);
    CHECK(lb.stop() == 0);
}

TEST_CASE("5 MiB download and upload arrive intact (sha256), raw and with curl") {
    t::Tempdir dir;
    const std::string data = t::random_bytes(k5MiB, 5);
    const std::string want = t::sha256_hex(data);
    t::HttpBackend be([&data](const t::SeenRequest& r) {
        if (r.method() == "POST") return t::Reply::text(t::sha256_hex(r.body));
        auto reply = t::Reply::text(data);
        if (r.path() == "/big-chunked") {
            reply.framing = t::Reply::Framing::chunked;
            reply.chunk = 16384;
        }
        return reply;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    auto down = c.roundtrip(t::http_get("/big"), false, 30s);
    INFO("download: " << down.error);
    CHECK(down.status == 200);
    CHECK(down.body.size() == k5MiB);
    CHECK(t::sha256_hex(down.body) == want);
    auto down_chunked = c.roundtrip(t::http_get("/big-chunked"), false, 30s);
    INFO("chunked download: " << down_chunked.error);
    CHECK(down_chunked.body.size() == k5MiB);
    CHECK(t::sha256_hex(down_chunked.body) == want);
    auto up = c.roundtrip(t::http_request("POST", "/up", {}, data), false, 30s);
    INFO("upload: " << up);
    CHECK(up.status == 200);
    CHECK(up.body == want);

    auto file = dir.write("data.bin", data);
    auto got = dir / "got.bin";
    auto res = t::curl({"-o", got.string(), t::url(lb.listener("fe"), "/big")}, 60s);
    CHECK(res.exit_code == 0);
    CHECK(t::sha256_hex(read_file(got)) == want);
    res = t::curl({"--data-binary", "@" + file.string(), t::url(lb.listener("fe"), "/up")}, 60s);
    CHECK(res.exit_code == 0);
    CHECK(res.out == want);
    CHECK(lb.stop() == 0);
}

TEST_CASE("WebSocket: 101 Switching Protocols, then a raw tunnel that timeout tunnel keeps open") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest& r) {
        if (!r.header("Upgrade")) return t::Reply::text("not an upgrade", 400);
        t::Reply reply;
        reply.status = 101;
        reply.framing = t::Reply::Framing::none;
        reply.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                         {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}};
        reply.tunnel = true;
        return reply;
    });
    // timeout client/server would end an idle tunnel after 300 ms; timeout tunnel takes over.
    auto lb = t::start_with_config(dir, t::http_listen_config(be,
                                                              "    timeout client 300ms\n"
                                                              "    timeout server 300ms\n"
                                                              "    timeout tunnel 10s\n"));
    auto c = t::HttpClient::open(lb.listener("fe"));
    auto r = c.roundtrip("GET /chat HTTP/1.1\r\nHost: skjold.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    INFO("upgrade: " << r);
    REQUIRE(r.status == 101);
    CHECK(r.header("Upgrade") == "websocket");
    CHECK(r.has_token("Connection", "upgrade"));
    auto seen = be.last();
    CHECK(seen.header("Upgrade") == "websocket");          // hop-by-hop, yet forwarded for an upgrade
    CHECK(seen.head.has_token("Connection", "upgrade"));

    // A masked text frame "hello", then arbitrary bytes: the tunnel does not look at them.
    const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    const std::string blob = t::random_bytes(20000, 9);
    REQUIRE(c.send(frame + blob));
    CHECK(c.read_raw(frame.size() + blob.size()) == frame + blob);
    std::this_thread::sleep_for(700ms);  // idle longer than timeout client and timeout server
    REQUIRE(c.send(frame));
    CHECK(c.read_raw(frame.size(), 3s) == frame);
    c.connection().shutdown_write();
    auto end = c.wait_close(3s);
    CHECK(end.end == End::eof);
    CHECK(end.data.empty());
    CHECK(lb.stop() == 0);
}

TEST_CASE("hop-by-hop headers, and those named in Connection, are not forwarded (RFC 9110 7.6.1)") {
    // [issue 3 asks for RFC 9110/9112; HAProxy 2.6 forwards all of these, only interpreting the
    // close/keep-alive tokens of Connection]
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("ok");
        r.headers = {{"Connection", "X-Server-Hop"}, {"X-Server-Hop", "s"}, {"Keep-Alive", "timeout=5"},
                     {"X-Server-End", "kept"}};
        return r;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be));
    auto c = t::HttpClient::open(lb.listener("fe"));
    auto r = c.roundtrip(t::http_get("/", {"Connection: keep-alive, X-Hop", "X-Hop: secret", "Keep-Alive: timeout=5",
                                           "Proxy-Connection: keep-alive", "X-End: kept"}));
    INFO(r);
    CHECK(r.status == 200);
    auto seen = be.last();
    INFO("the server saw:\n" << seen.head.raw);
    CHECK_FALSE(seen.header("X-Hop"));
    CHECK_FALSE(seen.header("Keep-Alive"));
    CHECK_FALSE(seen.header("Proxy-Connection"));
    CHECK_FALSE(seen.head.has_token("Connection", "X-Hop"));
    CHECK(seen.header("X-End") == "kept");
    CHECK_FALSE(r.header("X-Server-Hop"));
    CHECK_FALSE(r.header("Keep-Alive"));
    CHECK(r.header("X-Server-End") == "kept");
    CHECK(c.roundtrip(t::http_get("/again")).status == 200);  // and the connection stays usable
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
