// HTTP rules and routing (issue 3, Rules and fetches): http-request deny/return/redirect and header
// edits, http-response header edits, option forwardfor, monitor-uri, errorfile, the User-Agent deny of
// CONFIG.md, and use_backend by path, Host and the geo list (`src -f`, behind accept-proxy).
#include <doctest/doctest.h>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http");

TEST_CASE("http-request deny answers 403 (or deny_status) before use_backend, and the server never sees it") {
    t::Tempdir dir;
    t::HttpBackend main("main"), admin("admin");
    auto lb = t::start_with_config(dir, std::string(t::kHttpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    http-request deny if { path_beg /admin }\n"
                                                    "    http-request deny deny_status 429 if { path_beg /slow }\n"
                                                    "    http-request deny unless { method GET HEAD POST }\n"
                                                    "    use_backend admin if { path_beg /admin }\n"
                                                    "    default_backend main\n"
                                                    "backend main\n"
                                                    "    server m ${M}\n"
                                                    "backend admin\n"
                                                    "    server a ${A}\n",
                                                    {{"M", main.addr()}, {"A", admin.addr()}}));
    auto denied = t::fetch(lb.listener("fe"), t::http_get("/admin/users"));
    INFO("denied: " << denied);
    CHECK(denied.status == 403);
    CHECK(denied.body.find("<h1>403 Forbidden</h1>") != std::string::npos);  // HAProxy's default page
    auto limited = t::fetch(lb.listener("fe"), t::http_get("/slow"));
    INFO("limited: " << limited);
    CHECK(limited.status == 429);
    auto odd_method = t::fetch(lb.listener("fe"), t::http_request("DELETE", "/thing"));
    CHECK(odd_method.status == 403);
    CHECK(admin.bytes_received() == 0);
    CHECK(main.bytes_received() == 0);
    // A deny keeps the client connection usable (the response says how long its body is).
    auto c = t::HttpClient::open(lb.listener("fe"));
    CHECK(c.roundtrip(t::http_get("/admin")).status == 403);
    auto after = c.roundtrip(t::http_get("/ok"));
    INFO("after a deny on the same connection: " << after);
    if (after.ok()) CHECK(after.body == "main");
    CHECK(main.requests() == 1);
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-request return answers with its status, content type and string or file") {
    t::Tempdir dir;
    t::HttpBackend be("server");
    auto page = dir.write("page.html", "<p>from a file</p>\n");
    auto lb = t::start_with_config(
        dir, t::http_listen_config(be, t::fill("    http-request return status 200 content-type text/plain string \"hello from skjold\" if { path /hello }\n"
                                               "    http-request return status 404 content-type text/html file ${PAGE} if { path_beg /missing }\n",
                                               {{"PAGE", page.string()}})));
    auto hello = t::fetch(lb.listener("fe"), t::http_get("/hello"));
    INFO(hello);
    CHECK(hello.status == 200);
    CHECK(hello.body == "hello from skjold");
    CHECK(hello.header("Content-Type") == "text/plain");
    auto missing = t::fetch(lb.listener("fe"), t::http_get("/missing/x"));
    INFO(missing);
    CHECK(missing.status == 404);
    CHECK(missing.body == "<p>from a file</p>\n");
    CHECK(missing.header("Content-Type") == "text/html");
    CHECK(be.bytes_received() == 0);
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/other")).body == "server");
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-request redirect location, prefix and scheme with their codes") {
    t::Tempdir dir;
    t::HttpBackend be("server");
    auto lb = t::start_with_config(dir, t::http_listen_config(be,
                                                              "    http-request redirect location /new code 301 if { path /old }\n"
                                                              "    http-request redirect prefix https://mirror.example.com if { path_beg /docs }\n"
                                                              "    http-request redirect scheme https if { path_beg /secure }\n"));
    auto moved = t::fetch(lb.listener("fe"), t::http_get("/old"));
    INFO(moved);
    CHECK(moved.status == 301);
    CHECK(moved.header("Location") == "/new");
    auto prefixed = t::fetch(lb.listener("fe"), t::http_get("/docs/a?b=1"));
    INFO(prefixed);
    CHECK(prefixed.status == 302);  // the default code
    CHECK(prefixed.header("Location") == "https://mirror.example.com/docs/a?b=1");
    auto https = t::fetch(lb.listener("fe"), t::http_get("/secure/x?y=2", {"Host: www.example.com"}));
    INFO(https);
    CHECK(https.status == 302);
    CHECK(https.header("Location") == "https://www.example.com/secure/x?y=2");
    CHECK(be.bytes_received() == 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-request set-header, add-header and del-header edit what the server sees, in order and with conditions") {
    t::Tempdir dir;
    t::HttpBackend be(t::echo_path);
    auto lb = t::start_with_config(dir, t::http_listen_config(be,
                                                              "    http-request set-header X-Set new-value\n"
                                                              "    http-request add-header X-Added one\n"
                                                              "    http-request add-header X-Added two\n"
                                                              "    http-request del-header X-Secret\n"
                                                              "    http-request set-header X-Tagged yes if { path_beg /tag }\n"
                                                              "    http-request del-header X-Added if { hdr(X-Drop) -m found }\n"));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/plain", {"X-Set: old", "X-Set: older", "X-Secret: s3cret",
                                                                 "x-secret: again", "X-Added: client"}));
    INFO(r);
    CHECK(r.status == 200);
    auto seen = be.last();
    INFO("the server saw:\n" << seen.head.raw);
    CHECK(seen.header_all("X-Set") == std::vector<std::string>{"new-value"});
    CHECK(seen.header_all("X-Added") == std::vector<std::string>{"client", "one", "two"});
    CHECK(seen.header_all("X-Secret").empty());
    CHECK_FALSE(seen.header("X-Tagged"));
    t::fetch(lb.listener("fe"), t::http_get("/tag/1"));
    CHECK(be.last().header("X-Tagged") == "yes");
    t::fetch(lb.listener("fe"), t::http_get("/plain", {"X-Drop: 1", "X-Added: client"}));
    CHECK(be.last().header_all("X-Added").empty());  // deleted after the adds: rules run in order
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-response set-header, add-header and del-header edit what the client sees") {
    t::Tempdir dir;
    t::HttpBackend be([](const t::SeenRequest&) {
        auto r = t::Reply::text("body");
        r.headers.emplace_back("X-Replaced", "server");
        r.headers.emplace_back("X-Replaced", "server-again");
        r.headers.emplace_back("X-Internal", "secret");
        return r;
    });
    auto lb = t::start_with_config(dir, t::http_listen_config(be,
                                                              "    http-response set-header X-Replaced proxy\n"
                                                              "    http-response add-header X-Via skjold\n"
                                                              "    http-response del-header X-Internal\n"));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/"));
    INFO(r);
    CHECK(r.status == 200);
    CHECK(r.body == "body");
    CHECK(r.header_all("X-Replaced") == std::vector<std::string>{"proxy"});
    CHECK(r.header("X-Via") == "skjold");
    CHECK(r.header_all("X-Internal").empty());
    CHECK(lb.stop() == 0);
}

TEST_CASE("option forwardfor adds X-Forwarded-For with the client address, except and header honoured") {
    t::Tempdir dir;
    t::HttpBackend plain("plain"), excepted("excepted"), named("named");
    auto lb = t::start_with_config(dir, std::string(t::kHttpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    use_backend excepted if { path_beg /except }\n"
                                                    "    use_backend named if { path_beg /named }\n"
                                                    "    default_backend plain\n"
                                                    "backend plain\n"
                                                    "    option forwardfor\n"
                                                    "    server p ${P}\n"
                                                    "backend excepted\n"
                                                    "    option forwardfor except 127.0.0.8/32\n"
                                                    "    server e ${E}\n"
                                                    "backend named\n"
                                                    "    option forwardfor header X-Client-IP\n"
                                                    "    server n ${N}\n",
                                                    {{"P", plain.addr()}, {"E", excepted.addr()}, {"N", named.addr()}}));
    auto at = lb.listener("fe");
    CHECK(t::fetch(at, t::http_get("/"), "127.0.0.7").status == 200);
    CHECK(plain.last().header_all("X-Forwarded-For") == std::vector<std::string>{"127.0.0.7"});
    // The client's own header stays; the proxy's is added after it.
    t::fetch(at, t::http_get("/", {"X-Forwarded-For: 203.0.113.9"}), "127.0.0.7");
    CHECK(plain.last().header_all("X-Forwarded-For") == std::vector<std::string>{"203.0.113.9", "127.0.0.7"});

    CHECK(t::fetch(at, t::http_get("/except"), "127.0.0.8").status == 200);
    CHECK(excepted.last().header_all("X-Forwarded-For").empty());
    t::fetch(at, t::http_get("/except"), "127.0.0.9");
    CHECK(excepted.last().header_all("X-Forwarded-For") == std::vector<std::string>{"127.0.0.9"});

    t::fetch(at, t::http_get("/named"), "127.0.0.7");
    CHECK(named.last().header("X-Client-IP") == "127.0.0.7");
    CHECK(named.last().header_all("X-Forwarded-For").empty());
    CHECK(lb.stop() == 0);
}

TEST_CASE("monitor-uri answers 200 itself and the server never sees it") {
    t::Tempdir dir;
    t::HttpBackend be("server");
    auto lb = t::start_with_config(dir, t::http_listen_config(be, "    monitor-uri /haproxy-up\n"));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/haproxy-up"));
    INFO(r);
    CHECK(r.status == 200);
    CHECK(be.bytes_received() == 0);
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/haproxy-up/no")).body == "server");  // the whole uri, not a prefix
    CHECK(lb.stop() == 0);
}

TEST_CASE("errorfile replaces the error response for its status") {
    t::Tempdir dir;
    t::HttpBackend be("server");
    const std::string custom503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Errorfile: yes\r\n"
                                  "Content-Length: 19\r\n\r\nwe are down, sorry\n";
    const std::string custom403 = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nno, no.\n";
    auto f503 = dir.write("503.http", custom503);
    auto f403 = dir.write("403.http", custom403);
    auto lb = t::start_with_config(dir, std::string(t::kHttpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    errorfile 403 ${F403}\n"
                                                    "    http-request deny if { path_beg /deny }\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    errorfile 503 ${F503}\n"
                                                    "    server s ${S} disabled\n",
                                                    {{"F503", f503.string()}, {"F403", f403.string()}, {"S", be.addr()}}));
    auto down = t::fetch(lb.listener("fe"), t::http_get("/"));
    INFO(down);
    CHECK(down.status == 503);
    CHECK(down.body == "we are down, sorry\n");
    CHECK(down.header("X-Errorfile") == "yes");
    auto denied = t::fetch(lb.listener("fe"), t::http_get("/deny"));
    INFO(denied);
    CHECK(denied.status == 403);
    CHECK(denied.body == "no, no.\n");
    CHECK(be.bytes_received() == 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("CONFIG.md's bot rule: hdr_sub(User-Agent) -i curl wget is denied, browsers pass") {
    t::Tempdir dir;
    t::HttpBackend be("welcome");
    auto lb = t::start_with_config(dir, t::http_listen_config(be,
                                                              "    acl is_bot hdr_sub(User-Agent) -i curl wget\n"
                                                              "    http-request deny if is_bot\n"));
    auto at = lb.listener("fe");
    auto res = t::curl({"-o", "/dev/null", "-w", "%{http_code}", t::url(at, "/")});  // curl/7.x
    CHECK(res.out == "403");
    res = t::curl({"-A", "Mozilla/5.0 (X11; Linux x86_64)", t::url(at, "/")});
    CHECK(res.out == "welcome");
    CHECK(t::fetch(at, t::http_get("/", {"User-Agent: Wget/1.21.3"})).status == 403);
    CHECK(t::fetch(at, t::http_get("/", {"User-Agent: LibWWW-WGET-ish"})).status == 403);  // -i
    // Every occurrence counts: a second User-Agent line is still looked at.
    CHECK(t::fetch(at, t::http_get("/", {"User-Agent: Mozilla/5.0", "User-Agent: curl/8.0"})).status == 403);
    CHECK(t::fetch(at, t::http_get("/")).status == 200);  // no User-Agent at all
    CHECK(be.requests() == 2);
    CHECK(lb.stop() == 0);
}

TEST_CASE("use_backend by path_beg, by Host, and by the Norwegian geo list behind accept-proxy") {
    t::Tempdir dir;
    t::HttpBackend api("api"), host_b("host_b"), norway(t::echo_head), cloud("cloud");
    auto data = t::testdata_dir();
    auto lb = t::start_with_config(dir, std::string(t::kHttpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0 name plain\n"
                                                    "    bind 127.0.0.1:0 name proxied accept-proxy\n"
                                                    "    acl is_norway src -f ${NO4} -f ${NO6}\n"
                                                    "    use_backend api if { path_beg /api }\n"
                                                    "    use_backend host_b if { hdr(host) -i b.example.com }\n"
                                                    "    use_backend norway if is_norway\n"
                                                    "    default_backend cloud\n"
                                                    "backend api\n    server a ${API}\n"
                                                    "backend host_b\n    server h ${HB}\n"
                                                    "backend norway\n    option forwardfor\n    server n ${NO}\n"
                                                    "backend cloud\n    server c ${CLOUD}\n",
                                                    {{"NO4", (data / "no-v4.cidr").string()},
                                                     {"NO6", (data / "no-v6.cidr").string()},
                                                     {"API", api.addr()}, {"HB", host_b.addr()},
                                                     {"NO", norway.addr()}, {"CLOUD", cloud.addr()}}));
    auto plain = lb.listener("fe", "plain");
    auto proxied = lb.listener("fe", "proxied");
    CHECK(t::fetch(plain, t::http_get("/api/v1")).body == "api");
    CHECK(t::fetch(plain, t::http_get("/", {"Host: B.example.com"})).body == "host_b");
    CHECK(t::fetch(plain, t::http_get("/")).body == "cloud");
    // accept-proxy: src is the address in the PROXY header (84.208.0.0/13 and 2a02:d140::/29 are Norwegian).
    auto no4 = t::fetch(proxied, t::http_get("/"), {}, t::proxy_v1("84.208.0.1"));
    INFO(no4);
    CHECK(no4.status == 200);
    CHECK(norway.requests() == 1);
    CHECK(norway.last().header("X-Forwarded-For") == "84.208.0.1");
    auto no6 = t::fetch(proxied, t::http_get("/"), {}, t::proxy_v1("2a02:d140::1"));
    CHECK(no6.status == 200);
    CHECK(norway.last().header("X-Forwarded-For") == "2a02:d140::1");
    CHECK(t::fetch(proxied, t::http_get("/"), {}, t::proxy_v1("3.3.3.3")).body == "cloud");
    CHECK(t::fetch(proxied, t::http_get("/"), {}, t::proxy_v1("2001:db8::1")).body == "cloud");
    CHECK(t::fetch(proxied, t::http_get("/api/x"), {}, t::proxy_v1("84.208.0.1")).body == "api");  // order
    CHECK(norway.requests() == 2);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
