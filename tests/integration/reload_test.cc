// SIGHUP reload (issue 7, "Reload on SIGHUP"; DESIGN.md "Reload"): the real binary, real
// backends, reloads while clients are served.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"
#include "stats_client.hh"
#include "tls_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

// A frontend routing everything to `be` (one server at `addr`), with a stats socket.
std::string routed_config(const t::Tempdir& dir, const std::string& addr, std::string_view extra_global = {},
                          std::string_view extra_fe = {}, std::string_view extra_server = {}) {
    return t::fill(R"(global
    stats socket ${SOCK} level admin
${GLOBAL}
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
${FE}
    default_backend be
backend be
    server s1 ${ADDR} ${SRV}
)",
                   {{"SOCK", (dir / "stats.sock").string()},
                    {"GLOBAL", std::string(extra_global)},
                    {"FE", std::string(extra_fe)},
                    {"ADDR", addr},
                    {"SRV", std::string(extra_server)}});
}

// Rewrites the configuration file a running skjold was started with.
void rewrite(const t::Tempdir& dir, const std::string& config) { dir.write("skjold.cfg", config); }

// The configuration with its first `bind 127.0.0.1:0` naming the port bound at start (port 0
// in the file would bind a new port on reload).
std::string on_port(std::string config, const t::Address& fe) {
    config.replace(config.find("127.0.0.1:0"), 11, fe.to_string());
    return config;
}

t::Address fresh_address() { return *t::Address::ip("127.0.0.1", t::free_port()); }

std::string body_at(const t::Address& at, std::string_view path = "/") {
    auto r = t::fetch(at, t::http_get(path));
    return r.status == 200 ? r.body : "(status " + std::to_string(r.status) + ")";
}

}  // namespace

TEST_SUITE_BEGIN("reload");

TEST_CASE("SIGHUP adopts the new configuration on the same listening socket") {
    t::Tempdir dir;
    t::HttpBackend one("one"), two("two");
    auto lb = t::start_with_config(dir, routed_config(dir, one.addr()));
    auto fe = lb.listener("fe");
    CHECK(body_at(fe) == "one");
    // The file still says port 0: the bind keeps the socket (and port) it got at start.
    rewrite(dir, routed_config(dir, two.addr()));
    REQUIRE(lb.reload());
    CHECK(lb.listener("fe").to_string() == fe.to_string());
    CHECK(body_at(fe) == "two");
    CHECK(lb.log().find("1 listener(s) kept, 0 added, 0 removed") != std::string::npos);
    auto info = t::parse_info(t::stats_command(dir / "stats.sock", "show info"));
    CHECK(info["Skjold_last_reload"].rfind("ok: generation 2", 0) == 0);
    // The port it got, now written in the file: still the same socket, nothing bound anew (a new
    // socket would reset what waits in the old one's backlog when that closes).
    rewrite(dir, on_port(routed_config(dir, one.addr()), fe));
    REQUIRE(lb.reload());
    CHECK(t::count_of(lb.log(), "1 listener(s) kept, 0 added, 0 removed") == 2);
    CHECK(body_at(fe) == "one");
    CHECK(lb.stop() == 0);
}

TEST_CASE("an invalid configuration is refused with FILE:LINE and the running one stays") {
    t::Tempdir dir;
    t::HttpBackend one("one");
    auto lb = t::start_with_config(dir, routed_config(dir, one.addr()));
    auto fe = lb.listener("fe");
    const std::string good = on_port(routed_config(dir, one.addr()), fe);
    const std::string bad_line = std::to_string(std::count(good.begin(), good.end(), '\n') + 1);
    rewrite(dir, good + "    bogus-keyword 1\n");
    CHECK_FALSE(lb.reload());
    const std::string cfg = (dir / "skjold.cfg").string();
    CHECK(lb.log().find(cfg + ":" + bad_line + ": 'bogus-keyword'") != std::string::npos);
    CHECK(body_at(fe) == "one");
    auto info = t::parse_info(t::stats_command(dir / "stats.sock", "show info"));
    CHECK(info["Skjold_last_reload"].find("failed (1 error): " + cfg + ":" + bad_line) == 0);
    // `skjold -c` gives the same verdict.
    auto check = t::run_check({"-c", "-f", cfg});
    CHECK(check.exit_code == 1);
    CHECK(check.err.find(cfg + ":" + bad_line) != std::string::npos);
    // A reload of the fixed file is adopted again.
    rewrite(dir, good);
    CHECK(lb.reload());
    CHECK(body_at(fe) == "one");
    // What needs a restart is refused, naming the keyword; the running configuration stays.
    rewrite(dir, on_port(routed_config(dir, one.addr(), "    nbthread 3"), fe));
    CHECK_FALSE(lb.reload());
    CHECK(lb.log().find("'nbthread' cannot change on reload") != std::string::npos);
    CHECK(body_at(fe) == "one");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a request in flight during the reload completes on the old configuration") {
    t::Tempdir dir;
    t::HttpBackend slow([](const t::SeenRequest&) {
        auto r = t::Reply::text("slow-old");
        r.delay = 800ms;
        return r;
    });
    t::HttpBackend fresh("new");
    auto lb = t::start_with_config(dir, routed_config(dir, slow.addr()));
    auto fe = lb.listener("fe");
    const std::string port_cfg = on_port(routed_config(dir, fresh.addr()), fe);

    auto c = t::HttpClient::open(fe);
    REQUIRE(c.send(t::http_get("/slow")));
    REQUIRE(slow.wait_requests(1));
    rewrite(dir, port_cfg);
    REQUIRE(lb.reload());
    CHECK(body_at(fe) == "new");              // new connections: the new configuration
    auto r = c.read_final(false, 5s);          // the one in flight: the old server, intact
    CHECK(r.status == 200);
    CHECK(r.body == "slow-old");
    // Its keep-alive connection belonged to the old generation: told to close after this response.
    CHECK(r.header("Connection").value_or("") == "close");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a keep-alive client of a retired generation: its next local answer says close, then closes") {
    t::Tempdir dir;
    t::HttpBackend one("one");
    const std::string fe_rules =
        "    http-request return status 200 content-type text/plain string local if { path /local }\n";
    auto lb = t::start_with_config(dir, routed_config(dir, one.addr(), {}, fe_rules));
    auto fe = lb.listener("fe");
    auto c = t::HttpClient::open(fe);
    auto first = c.roundtrip(t::http_get("/local"));
    REQUIRE(first.status == 200);
    CHECK(first.body == "local");
    CHECK_FALSE(first.header("Connection").has_value());   // HTTP/1.1: kept, nothing said
    rewrite(dir, on_port(routed_config(dir, one.addr(), {}, fe_rules), fe));
    REQUIRE(lb.reload());
    // Within the retired generation's idle grace (1 s), the same connection asks again: answered
    // by the old generation, which announces the close it is about to make.
    auto second = c.roundtrip(t::http_get("/local"));
    REQUIRE_MESSAGE(second.ok(), second.error);
    CHECK(second.status == 200);
    CHECK(second.body == "local");
    CHECK(second.header("Connection").value_or("") == "close");
    auto end = c.wait_close(2s);
    CHECK(end.end == t::Received::End::eof);
    CHECK(end.data.empty());
    CHECK(lb.stop() == 0);
}

TEST_CASE("1,000 requests from 4 clients across 20 reloads: none fails, every body intact") {
    t::Tempdir dir;
    const std::string payload = t::random_bytes(20000, 7);
    t::HttpBackend a([&](const t::SeenRequest&) { return t::Reply::text(payload); });
    t::HttpBackend b([&](const t::SeenRequest&) { return t::Reply::text(payload); });
    auto lb = t::start_with_config(dir, routed_config(dir, a.addr()));
    auto fe = lb.listener("fe");
    const std::string cfg[2] = {on_port(routed_config(dir, a.addr()), fe), on_port(routed_config(dir, b.addr()), fe)};

    std::atomic<int> good{0}, bad{0};
    const std::string want = t::sha256_hex(payload);
    std::vector<std::thread> clients;
    for (int k = 0; k < 4; ++k) {
        clients.emplace_back([&, k] {
            // Even clients: keep-alive (reconnecting when told to close); odd: a connection per request.
            std::optional<t::HttpClient> conn;
            for (int i = 0; i < 250; ++i) {
                if (k % 2 == 1 || !conn || !conn->connected()) conn.emplace(t::HttpClient::open(fe));
                auto r = conn->roundtrip(t::http_get("/r" + std::to_string(i)));
                if (r.status == 200 && t::sha256_hex(r.body) == want) ++good;
                else if (bad++ < 3) MESSAGE("client " << k << " request " << i << ": " << r);
                if (!r.ok() || r.header("Connection").value_or("") == "close") conn.reset();
                std::this_thread::sleep_for(2ms);
            }
        });
    }
    int reloads = 0;
    for (int i = 0; i < 20; ++i) {
        rewrite(dir, cfg[(i + 1) % 2]);
        if (lb.reload()) ++reloads;
        std::this_thread::sleep_for(50ms);
    }
    for (auto& th : clients) th.join();
    CHECK(reloads == 20);
    CHECK(bad.load() == 0);
    CHECK(good.load() == 1000);
    CHECK(a.requests() > 0);
    CHECK(b.requests() > 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("server state carries over by name: DOWN stays DOWN and MAINT stays MAINT across a reload") {
    t::Tempdir dir;
    t::HttpBackend up("up");
    const auto dead = t::dead_address();   // nothing listens there
    auto config = [&](std::string_view order) {
        return t::fill(R"(global
    stats socket ${SOCK} level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
    timeout check 500ms
frontend fe
    bind ${FE}
    default_backend be
backend be
    balance roundrobin
${SERVERS}
)",
                       {{"SOCK", (dir / "stats.sock").string()}, {"FE", "127.0.0.1:0"}, {"SERVERS", std::string(order)}});
    };
    const std::string servers = "    server dead " + dead.to_string() + " check inter 200ms fall 1 rise 1\n"
                                "    server up " + up.addr() + " check inter 200ms fall 1 rise 1\n"
                                "    server spare " + up.addr() + " check inter 200ms fall 1 rise 1\n";
    auto lb = t::start_with_config(dir, config(servers));
    auto fe = lb.listener("fe");
    const auto sock = dir / "stats.sock";
    auto status = [&](std::string_view sv) { return t::parse_stat(t::stats_command(sock, "show stat")).get("be", sv, "status"); };
    for (int i = 0; i < 100 && status("dead") != "DOWN"; ++i) std::this_thread::sleep_for(20ms);
    REQUIRE(status("dead") == "DOWN");
    CHECK(t::stats_command(sock, "disable server be/spare").find_first_not_of("\n") == std::string::npos);
    REQUIRE(status("spare") == "MAINT");

    // The same servers in another order, with a check interval long enough that no check result
    // arrives before we look: what we see is carried over, not re-learned.
    std::string reordered = "    server spare " + up.addr() + " check inter 10s fall 1 rise 1\n"
                            "    server up " + up.addr() + " check inter 10s fall 1 rise 1\n"
                            "    server dead " + dead.to_string() + " check inter 10s fall 1 rise 1\n";
    rewrite(dir, on_port(config(reordered), fe));
    REQUIRE(lb.reload());
    CHECK(status("dead") == "DOWN");
    CHECK(status("spare") == "MAINT");
    CHECK(status("up").rfind("UP", 0) == 0);
    // No request goes to the dead server right after the reload.
    for (int i = 0; i < 20; ++i) CHECK(body_at(fe) == "up");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a listener removed by a reload stops accepting; a new one starts") {
    t::Tempdir dir;
    t::HttpBackend be("be");
    auto config = [&](std::string_view binds) {
        return t::fill(R"(defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
${BINDS}
    default_backend be
backend be
    server s1 ${ADDR}
)",
                       {{"BINDS", std::string(binds)}, {"ADDR", be.addr()}});
    };
    auto lb = t::start_with_config(dir, config("    bind 127.0.0.1:0 name first\n"));
    const auto first = lb.listener("fe", "first");
    CHECK(body_at(first) == "be");
    const auto second = fresh_address();
    rewrite(dir, config("    bind " + second.to_string() + " name second\n"));
    REQUIRE(lb.reload());
    CHECK(lb.listener("fe", "second").to_string() == second.to_string());
    CHECK(body_at(second) == "be");
    CHECK(lb.log().find("0 listener(s) kept, 1 added, 1 removed") != std::string::npos);
    // The old generation closed its socket once it had no session left.
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) {
        refused = !t::Connection::open(first, {}, 200ms).connected();
        if (!refused) std::this_thread::sleep_for(20ms);
    }
    CHECK(refused);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a reload re-reads the geo list files") {
    t::Tempdir dir;
    t::HttpBackend no("norway"), world("world");
    auto list = dir.write("no.txt", "127.0.0.2\n");
    std::string cfg = t::fill(R"(defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    acl is_norway src -f ${LIST}
    use_backend primary if is_norway
    default_backend hyperscaler
backend primary
    server no ${NO}
backend hyperscaler
    server world ${WORLD}
)",
                              {{"LIST", list.string()}, {"NO", no.addr()}, {"WORLD", world.addr()}});
    auto lb = t::start_with_config(dir, cfg);
    auto fe = lb.listener("fe");
    auto from = [&](std::string_view ip) {
        auto r = t::fetch(fe, t::http_get("/"), ip);
        return r.status == 200 ? r.body : "(status " + std::to_string(r.status) + ")";
    };
    CHECK(from("127.0.0.2") == "norway");
    CHECK(from("127.0.0.3") == "world");
    dir.write("no.txt", "127.0.0.3/32\n");
    cfg = on_port(cfg, fe);
    rewrite(dir, cfg);
    REQUIRE(lb.reload());
    CHECK(from("127.0.0.2") == "world");
    CHECK(from("127.0.0.3") == "norway");
    // A broken list keeps the running tables and names FILE:LINE.
    dir.write("no.txt", "127.0.0.2\nnot-an-address\n");
    CHECK_FALSE(lb.reload());
    CHECK(lb.log().find(list.string() + ":2") != std::string::npos);
    CHECK(from("127.0.0.3") == "norway");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a reload re-reads certificates: a renewed one is served, a broken PEM keeps the old one") {
    t::Tempdir dir;
    t::HttpBackend be("be");
    const auto pem = dir / "site.pem";
    t::make_cert(dir.path(), pem, "old.test");
    const std::string cfg = t::fill(R"(defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0 ssl crt ${PEM}
    default_backend be
backend be
    server s1 ${ADDR}
)",
                                    {{"PEM", pem.string()}, {"ADDR", be.addr()}});
    auto lb = t::start_with_config(dir, cfg);
    auto fe = lb.listener("fe");
    auto served_name = [&] {
        auto r = t::s_client(fe, {"-servername", "site.test"}, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        for (const char* n : {"old.test", "new.test"})
            if (r.out.find(std::string("CN = ") + n) != std::string::npos && r.out.find("\r\n\r\nbe") != std::string::npos) return std::string(n);
        return "(none: " + r.out.substr(0, 300) + ")";
    };
    CHECK(served_name() == "old.test");
    t::make_cert(dir.path(), pem, "new.test");   // renewed in place, as certbot does
    rewrite(dir, on_port(cfg, fe));
    REQUIRE(lb.reload());
    CHECK(served_name() == "new.test");
    dir.write("site.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    CHECK_FALSE(lb.reload());
    CHECK(lb.log().find(pem.string()) != std::string::npos);
    CHECK(served_name() == "new.test");
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
