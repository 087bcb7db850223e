// TLS termination (issue 6): `bind ... ssl crt DIR` in mode http and mode tcp, with the real
// clients an operator would use (openssl s_client, curl) and an in-process OpenSSL client for
// the handshake loop. Certificates are made per test with the openssl CLI.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"
#include "stats_client.hh"
#include "tls_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

// Two names in one crt directory: a.test (ECDSA P-256, loaded first: the default) and b.test
// (RSA 2048).
struct Certs {
    std::filesystem::path dir;
    t::TestCert a, b;
};

Certs make_certs(const t::Tempdir& tmp) {
    Certs c;
    c.dir = tmp / "certs";
    std::filesystem::create_directory(c.dir);
    c.a = t::make_cert(tmp.path(), c.dir / "1-a.pem", "a.test", t::KeyType::ecdsa_p256);
    c.b = t::make_cert(tmp.path(), c.dir / "2-b.pem", "b.test", t::KeyType::rsa_2048);
    return c;
}

bool has(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

const std::string kGetClose = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

// Answers with what skjold's TLS fetches said, as a request header set by the frontend.
t::Reply echo_tls(const t::SeenRequest& r) { return t::Reply::text(r.header("X-Tls").value_or("(none)")); }

// One https frontend on the crt directory (plus `bind_opts`), `extra` lines, backend `be`.
std::string https_config(const Certs& c, const t::HttpBackend& be, std::string_view bind_opts = {},
                         std::string_view extra = {}, std::string_view global = {}) {
    return t::fill("global\n${global}${defaults}"
                   "frontend fe\n"
                   "    bind 127.0.0.1:0 ssl crt ${dir} alpn http/1.1${opts}\n"
                   "    http-request set-header X-Tls \"%[ssl_fc]|%[ssl_fc_sni]|%[ssl_fc_protocol]|%[ssl_fc_alpn]\"\n"
                   "${extra}"
                   "    default_backend be\n"
                   "backend be\n"
                   "    server s1 ${be}\n",
                   {{"global", std::string(global)},
                    {"defaults", std::string(t::kHttpDefaults)},
                    {"dir", c.dir.string()},
                    {"opts", bind_opts.empty() ? std::string() : " " + std::string(bind_opts)},
                    {"extra", std::string(extra)},
                    {"be", be.addr()}});
}

std::string https_url(const t::Address& at, std::string_view host, std::string_view path = "/") {
    return "https://" + std::string(host) + ":" + std::to_string(at.port()) + std::string(path);
}
std::string resolve(const t::Address& at, std::string_view host) {
    return std::string(host) + ":" + std::to_string(at.port()) + ":127.0.0.1";
}

// Geo routing behind TLS: frontend `fe` (`bind`: what follows "bind 127.0.0.1:0", then `extra`
// lines) sends clients whose src is in `norway` to backend primary, every other to cloud.
std::string geo_config(std::string_view bind, std::string_view extra, std::string_view norway,
                       const t::HttpBackend& primary, const t::HttpBackend& cloud) {
    return t::fill("global\n${defaults}"
                   "frontend fe\n"
                   "    bind 127.0.0.1:0 ${bind}\n"
                   "${extra}"
                   "    acl norway src ${norway}\n"
                   "    use_backend primary if norway\n"
                   "    default_backend cloud\n"
                   "backend primary\n    server p1 ${p}\n"
                   "backend cloud\n    server c1 ${c}\n",
                   {{"defaults", std::string(t::kHttpDefaults)},
                    {"bind", std::string(bind)},
                    {"extra", std::string(extra)},
                    {"norway", std::string(norway)},
                    {"p", primary.addr()},
                    {"c", cloud.addr()}});
}

// What most tests here start from (TEST_CASE_FIXTURE): the two certificates and a backend
// answering with the TLS fetches (echo_tls)...
struct TlsBed {
    t::Tempdir dir;
    Certs certs = make_certs(dir);
    t::HttpBackend be{echo_tls};
};
// ...and skjold with https_config's one https frontend `fe` on them. Destroyed in reverse order:
// skjold first, the directory last (as the locals they replace).
struct HttpsBed : TlsBed {
    t::Skjold lb = t::start_with_config(dir, https_config(certs, be));
};
// ...or with an admin stats socket too, for the tests that read `show info`.
struct HttpsStatsBed : TlsBed {
    std::string sock = (dir / "stats.sock").string();
    t::Skjold lb = t::start_with_config(dir, https_config(certs, be, {}, "    http-request use-service prometheus-exporter if { path /metrics }\n",
                                                          "    stats socket " + sock + " level admin\n"));

    std::map<std::string, std::string> show_info() const { return t::parse_info(t::stats_command(sock, "show info")); }
};

}  // namespace

TEST_SUITE_BEGIN("tls");

TEST_CASE_FIXTURE(HttpsBed, "TLS 1.3 and 1.2 handshakes succeed; TLS 1.1 and 1.0 are refused, counted and logged") {
    auto at = lb.listener("fe");
    // (pairs, not structured bindings: doctest's INFO captures them, which clang 14 cannot)
    for (auto fp : {std::pair{"-tls1_3", "TLSv1.3"}, std::pair{"-tls1_2", "TLSv1.2"}}) {
        const char* flag = fp.first;
        const char* proto = fp.second;
        auto r = t::s_client(at, {flag, "-servername", "a.test"}, kGetClose);
        INFO(flag << ": " << r.out);
        CHECK(r.exit_code == 0);
        CHECK(has(r.out, std::string("New, ") + proto + ", Cipher is"));
        CHECK(has(r.out, std::string("1|a.test|") + proto + "|"));   // the reply went through TLS
    }
    // The client is allowed to try the old versions (SECLEVEL=0): skjold is the one refusing.
    for (auto flag : {"-tls1_1", "-tls1"}) {
        auto r = t::s_client(at, {flag, "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "a.test"}, kGetClose);
        INFO(flag << ": " << r.out);
        CHECK(r.exit_code != 0);
        CHECK(has(r.out, "alert protocol version"));
    }
    CHECK(be.requests() == 2);
    CHECK(lb.stop() == 0);
    CHECK(has(lb.log(), "frontend fe: TLS handshake with 127.0.0.1 failed: protocol version"));
}

TEST_CASE_FIXTURE(HttpsBed, "SNI picks each certificate of a crt directory, and the first one for an unknown name") {
    auto at = lb.listener("fe");
    for (auto sc : {std::pair{"a.test", "a.test"}, std::pair{"b.test", "b.test"},
                    std::pair{"B.Test", "b.test"}, std::pair{"unknown.test", "a.test"}}) {
        const char* sni = sc.first;
        const char* cn = sc.second;
        auto r = t::s_client(at, {"-servername", sni}, kGetClose);
        INFO(sni << ": " << r.out);
        CHECK(t::field_after(r.out, "subject=") == std::string("CN = ") + cn);
        CHECK(has(r.out, std::string("1|") + sni + "|TLSv1.3|"));   // ssl_fc_sni: as the client sent it
    }
    // curl verifies each name against its own certificate.
    for (const auto& hc : {std::pair{"a.test", certs.a.cert}, std::pair{"b.test", certs.b.cert}}) {
        const char* host = hc.first;
        const auto& cert = hc.second;
        auto r = t::curl({"--cacert", cert.string(), "--resolve", resolve(at, host), https_url(at, host)});
        INFO(host << ": " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == std::string("1|") + host + "|TLSv1.3|http/1.1");
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(HttpsBed, "ALPN: http/1.1 is chosen from the client's list and seen by ssl_fc_alpn") {
    auto r = t::s_client(lb.listener("fe"), {"-servername", "a.test", "-alpn", "h2,http/1.1"}, kGetClose);
    INFO(r.out);
    CHECK(t::field_after(r.out, "ALPN protocol:") == "http/1.1");
    CHECK(has(r.out, "1|a.test|TLSv1.3|http/1.1"));
    auto none = t::s_client(lb.listener("fe"), {"-servername", "a.test"}, kGetClose);
    CHECK(has(none.out, "No ALPN negotiated"));
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(TlsBed, "resumption: tickets, and the session cache under no-tls-tickets, both seen as Reused") {
    std::string extra_fe = "frontend fe_nt\n"
                           "    bind 127.0.0.1:0 ssl crt " + certs.dir.string() + " no-tls-tickets\n"
                           "    default_backend be\n";
    std::string cfg = https_config(certs, be);
    cfg.insert(cfg.find("\nbackend be\n") + 1, extra_fe);
    auto lb = t::start_with_config(dir, cfg);
    for (auto fe : {"fe", "fe_nt"}) {
        for (auto flag : {"-tls1_3", "-tls1_2"}) {
            auto sess = (dir / (std::string(fe) + flag + ".sess")).string();
            auto first = t::s_client(lb.listener(fe), {flag, "-servername", "a.test", "-sess_out", sess}, kGetClose);
            auto again = t::s_client(lb.listener(fe), {flag, "-servername", "a.test", "-sess_in", sess}, kGetClose);
            INFO(fe << " " << flag << ":\n" << first.out << "\n----\n" << again.out);
            CHECK(has(first.out, "New, TLSv1."));
            CHECK(has(again.out, "Reused, TLSv1."));
        }
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(HttpsStatsBed, "show info counts TLS handshakes: CumSslConns, SslRate, key rate and session reuse") {
    auto info = show_info();
    CHECK(info["CumSslConns"] == "0");
    // Pairs of a full handshake and a resumption of its session, for 2.5 s (the rates are sampled
    // once a second, so every sampled second sees both kinds), then once more to end on a pair.
    int pairs = 0;
    const auto until = std::chrono::steady_clock::now() + 2500ms;
    for (int i = 0; i < 200 && (i == 0 || std::chrono::steady_clock::now() < until); ++i) {
        auto sess = (dir / ("s" + std::to_string(i))).string();
        auto full = t::s_client(lb.listener("fe"), {"-tls1_3", "-servername", "a.test", "-sess_out", sess}, kGetClose);
        auto again = t::s_client(lb.listener("fe"), {"-tls1_3", "-servername", "a.test", "-sess_in", sess}, kGetClose);
        REQUIRE(has(full.out, "New, TLSv1.3"));
        REQUIRE(has(again.out, "Reused, TLSv1.3"));
        ++pairs;
    }
    info = show_info();
    INFO(t::stats_command(sock, "show info"));
    CHECK(info["CumSslConns"] == std::to_string(2 * pairs));
    CHECK(std::stoi(info["SslRate"]) > 0);
    CHECK(std::stoi(info["MaxSslRate"]) >= std::stoi(info["SslRate"]));
    CHECK(std::stoi(info["SslFrontendKeyRate"]) > 0);
    CHECK(std::stoi(info["SslFrontendKeyRate"]) < std::stoi(info["SslRate"]));   // resumed: no key
    const int reuse = std::stoi(info["SslFrontendSessionReuse_pct"]);
    CHECK(reuse >= 25);   // about half of each second's handshakes were resumed
    CHECK(reuse <= 75);
    CHECK(info["SslBackendKeyRate"] == "0");   // plain HTTP to the server
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(HttpsStatsBed, "show info CurrSslConns counts the TLS connections open now, until each way of closing them") {
    auto at = lb.listener("fe");
    auto curr = [&] { return show_info()["CurrSslConns"]; };
    CHECK(curr() == "0");
    CHECK(show_info()["MaxSslConns"] == "0");   // no maxsslconn in skjold: no limit
    std::vector<t::TlsConnection> tls;
    for (int i = 0; i < 3; ++i) {
        tls.push_back(t::TlsConnection::open(at, "a.test"));
        REQUIRE(tls.back().established());
    }
    CHECK(t::eventually([&] { return curr() == "3"; }, 3s));
    // A TLS connection from the accept on, before any ClientHello (HAProxy counts it too).
    auto garbage = t::Connection::open(at);
    auto silent = t::Connection::open(at);
    REQUIRE(garbage.connected());
    REQUIRE(silent.connected());
    CHECK(t::eventually([&] { return curr() == "5"; }, 3s));
    {   // The Prometheus page says the same, counting the TLS connection that scrapes it.
        auto scrape = t::TlsConnection::open(at, "a.test");
        REQUIRE(scrape.established());
        const std::string page = scrape.exchange("GET /metrics?scope=global HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
        INFO(page);
        CHECK(has(page, "\nhaproxy_process_current_ssl_connections 6\n"));
        CHECK(has(page, "\nhaproxy_process_ssl_connections_total 4\n"));   // handshakes done: 3 + the scrape's
        scrape.close();
    }
    CHECK(t::eventually([&] { return curr() == "5"; }, 3s));
    // Every way out, one each: close_notify; gone without close_notify; a reply to `Connection:
    // close` (skjold's close_notify and FIN first, then the client's close); a failed handshake
    // (not TLS); a handshake the client abandoned.
    tls[0].close();
    tls[1].abort();
    CHECK(has(tls[2].exchange(kGetClose), "1|a.test|TLSv1.3"));
    tls[2].close();
    REQUIRE(garbage.send_all("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    CHECK(garbage.recv_all(3s).end != End::timeout);
    silent.close();
    CHECK(t::eventually([&] { return curr() == "0"; }, 3s));
    // Still open when a reload adopts the next configuration: it finishes on the one it started
    // with and counts there, not in the new one (as HAProxy's old worker keeps its own).
    auto held = t::TlsConnection::open(at, "a.test");
    REQUIRE(held.established());
    CHECK(t::eventually([&] { return curr() == "1"; }, 3s));
    REQUIRE(lb.reload());
    CHECK(curr() == "0");
    auto fresh = t::TlsConnection::open(lb.listener("fe"), "a.test");
    REQUIRE(fresh.established());
    CHECK(t::eventually([&] { return curr() == "1"; }, 3s));
    held.close();
    fresh.close();
    CHECK(t::eventually([&] { return curr() == "0"; }, 3s));
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(HttpsBed, "a resumed TLS 1.3 connection brings a fresh ticket, and resuming from it is Reused again") {
    auto s1 = (dir / "1.sess").string(), s2 = (dir / "2.sess").string();
    auto first = t::s_client(lb.listener("fe"), {"-tls1_3", "-servername", "a.test", "-sess_out", s1}, kGetClose);
    auto second = t::s_client(lb.listener("fe"), {"-tls1_3", "-msg", "-servername", "a.test", "-sess_in", s1,
                                                  "-sess_out", s2}, kGetClose);
    auto third = t::s_client(lb.listener("fe"), {"-tls1_3", "-servername", "a.test", "-sess_in", s2}, kGetClose);
    INFO(first.out << "\n----\n" << second.out << "\n----\n" << third.out);
    CHECK(has(first.out, "New, TLSv1.3"));
    CHECK(has(second.out, "Reused, TLSv1.3"));
    // Clients that resume from their last connection's session (wrk, browsers that use each
    // ticket once) need it: without a fresh ticket they fall back to a full handshake.
    CHECK(has(second.out, "NewSessionTicket"));
    CHECK(has(third.out, "Reused, TLSv1.3"));
    CHECK(lb.stop() == 0);
}

TEST_CASE_FIXTURE(HttpsBed, "a request sent with the client's Finished gets its reply and the session tickets") {
    for (int i = 0; i < 3; ++i) {
        auto r = t::finished_with_request(lb.listener("fe"), "a.test", kGetClose);
        REQUIRE(r.has_value());
        INFO(r->reply);
        CHECK(has(r->reply, "HTTP/1.1 200"));
        CHECK(has(r->reply, "1|a.test|TLSv1.3"));
        CHECK(r->ticket);   // held until the reply, then sent in front of it
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE("garbage, a stalled and a truncated ClientHello are closed, counted and logged") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend be("backend");
    // One worker: one log rate limiter (a line per second), so each case below gets its line.
    std::string cfg = https_config(certs, be, {}, {}, "    nbthread 1\n");
    cfg.replace(cfg.find("timeout client 10s"), 18, "timeout client 1s");
    auto lb = t::start_with_config(dir, cfg);
    auto at = lb.listener("fe");

    auto garbage = t::Connection::open(at);
    REQUIRE(garbage.connected());
    REQUIRE(garbage.send_all("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    auto g = garbage.recv_all(3s);
    CHECK(g.end != End::timeout);
    CHECK(g.elapsed < 500ms);
    CHECK_FALSE(has(g.data, "HTTP/"));
    std::this_thread::sleep_for(1100ms);

    // A TLS record header announcing a 512-byte ClientHello, and then nothing.
    const std::string partial("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    auto stall = t::Connection::open(at);
    REQUIRE(stall.connected());
    REQUIRE(stall.send_all(partial + std::string(20, 'r')));
    auto st = stall.recv_all(5s);
    CHECK(st.end != End::timeout);
    CHECK(st.elapsed >= 900ms);    // closed by timeout client (1 s) ...
    CHECK(st.elapsed < 2500ms);    // ... not later
    std::this_thread::sleep_for(1100ms);

    auto cut = t::Connection::open(at);
    REQUIRE(cut.connected());
    REQUIRE(cut.send_all(partial));
    REQUIRE(cut.shutdown_write());
    auto c = cut.recv_all(3s);
    CHECK(c.end != End::timeout);
    CHECK(c.elapsed < 500ms);

    // The listener still serves a good client.
    auto ok = t::s_client(at, {"-servername", "a.test"}, kGetClose);
    CHECK(has(ok.out, "\r\n\r\nbackend"));
    CHECK(be.requests() == 1);
    CHECK(lb.stop() == 0);
    auto log = lb.log();
    INFO(log);
    CHECK(has(log, "failed: not TLS"));
    CHECK(has(log, "failed: no complete handshake within timeout client"));
    CHECK(has(log, "failed: truncated"));
    CHECK(has(log, "(3 failed on this worker so far"));   // the counter saw all three
}

TEST_CASE("1000 full handshakes leave the resident memory within 1 MiB of where it was") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend be("backend");
    auto lb = t::start_with_config(dir, https_config(certs, be));
    auto at = lb.listener("fe");
    // Warm-up: every worker's contexts, buffers and the allocator's arenas at their working size
    // (measured: the resident size grows over the first ~1000 handshakes, then stays flat).
    CHECK(t::handshake_loop(at, "a.test", 100, kGetClose) == 100);
    CHECK(t::handshake_loop(at, "a.test", 700) == 700);
    CHECK(t::handshake_loop(at, "b.test", 700) == 700);
    long before = t::rss_kib(lb.pid());
    REQUIRE(before > 0);
    CHECK(t::handshake_loop(at, "a.test", 500) == 500);
    CHECK(t::handshake_loop(at, "b.test", 500) == 500);
    long after = t::rss_kib(lb.pid());
    MESSAGE("VmRSS before " << before << " KiB, after 1000 handshakes " << after << " KiB");
#if defined(SKJOLD_SANITIZE)
    // ASan's quarantine keeps up to 256 MiB of freed memory resident and recycles it in its own
    // order: the 1 MiB bound holds only without it (measured: 964 KiB here once, in a CI failure).
    CHECK(after - before < 32 * 1024);
#else
    CHECK(after - before < 1024);
#endif
    CHECK(be.requests() == 100);
    CHECK(lb.stop() == 0);
}

TEST_CASE("HTTPS end to end with curl: geo routing on src, 5 MiB up and down, keep-alive") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend primary([](const t::SeenRequest& r) {
        if (r.method() == "POST") return t::Reply::text(t::sha256_hex(r.body));
        if (r.path() == "/big") return t::Reply::text(t::random_bytes(5 * 1024 * 1024, 7));
        return t::Reply::text("primary");
    });
    t::HttpBackend cloud("cloud");
    auto lb = t::start_with_config(
        dir, geo_config("ssl crt " + certs.dir.string() + " alpn http/1.1", {}, "127.0.0.2/32", primary, cloud));
    auto at = lb.listener("fe");
    std::vector<std::string> tls{"--cacert", certs.a.cert.string(), "--resolve", resolve(at, "a.test")};
    auto with = [&](std::vector<std::string> more) {
        auto v = tls;
        v.insert(v.end(), more.begin(), more.end());
        return v;
    };
    auto no = t::curl(with({"--interface", "127.0.0.2", https_url(at, "a.test")}));
    INFO(no.err);
    CHECK(no.out == "primary");
    auto other = t::curl(with({https_url(at, "a.test")}));
    CHECK(other.out == "cloud");

    auto body = t::random_bytes(5 * 1024 * 1024, 11);
    auto file = dir.write("up.bin", body);
    auto up = t::curl(with({"--interface", "127.0.0.2", "--data-binary", "@" + file.string(), "-H",
                            "Content-Type: application/octet-stream", https_url(at, "a.test", "/up")}), 60s);
    INFO(up.err);
    CHECK(up.out == t::sha256_hex(body));
    auto down = t::curl(with({"--interface", "127.0.0.2", "-o", (dir / "down.bin").string(), "-w", "%{size_download}",
                              https_url(at, "a.test", "/big")}), 60s);
    CHECK(down.out == std::to_string(5 * 1024 * 1024));
    auto keep = t::curl(with({"-o", "/dev/null", "-w", "%{num_connects}\\n", https_url(at, "a.test", "/k[1-20]")}));
    int connects = 0;
    for (char ch : keep.out) connects += ch == '1';
    CHECK(keep.exit_code == 0);
    CHECK(connects == 1);   // one TLS connection carried the 20 requests
    CHECK(lb.stop() == 0);
}

TEST_CASE("http-request redirect scheme https unless { ssl_fc }: an http and an https bind on one frontend") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend be("backend");
    std::string cfg = https_config(certs, be, {}, "    bind 127.0.0.1:0 name plain\n"
                                                  "    http-request redirect scheme https unless { ssl_fc }\n"
                                                  "    http-request deny if { path_beg /denied }\n");
    auto lb = t::start_with_config(dir, cfg);
    auto plain = t::fetch(lb.listener("fe", "plain"), t::http_get("/page?x=1", {"Host: a.test"}));
    CHECK(plain.status == 302);
    CHECK(plain.header("Location").value_or("") == "https://a.test/page?x=1");
    auto https = t::curl({"--cacert", certs.a.cert.string(), "--resolve", resolve(lb.listener("fe"), "a.test"),
                          https_url(lb.listener("fe"), "a.test", "/page")});
    CHECK(https.out == "backend");
    // A reply skjold makes itself goes out through TLS too (right after the session tickets).
    auto denied = t::curl({"--cacert", certs.a.cert.string(), "--resolve", resolve(lb.listener("fe"), "a.test"), "-w",
                           " %{http_code}", https_url(lb.listener("fe"), "a.test", "/denied")});
    CHECK(has(denied.out, " 403"));
    CHECK(be.requests() == 1);
    CHECK(lb.stop() == 0);
}

TEST_CASE("mode tcp terminates TLS and relays the plaintext both ways (2 MiB echoed)") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend be(t::echo_body);
    auto cfg = t::fill("global\n"
                       "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
                       "frontend fe\n"
                       "    bind 127.0.0.1:0 ssl crt ${dir}\n"
                       "    default_backend be\n"
                       "backend be\n    server s1 ${be}\n",
                       {{"dir", certs.dir.string()}, {"be", be.addr()}});
    auto lb = t::start_with_config(dir, cfg);
    auto at = lb.listener("fe");
    auto body = t::random_bytes(2 * 1024 * 1024, 5);
    auto file = dir.write("echo.bin", body);
    auto r = t::curl({"--cacert", certs.a.cert.string(), "--resolve", resolve(at, "a.test"), "--data-binary",
                      "@" + file.string(), "-H", "Content-Type: application/octet-stream", "-o",
                      (dir / "back.bin").string(), "-w", "%{http_code} %{size_download}", https_url(at, "a.test", "/echo")},
                     60s);
    INFO(r.err);
    CHECK(r.out == "200 " + std::to_string(body.size()));
    std::ifstream back(dir / "back.bin", std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(back)), std::istreambuf_iterator<char>());
    CHECK(got == body);
    CHECK(lb.stop() == 0);
}

TEST_CASE("accept-proxy with ssl: the PROXY header comes first, then the handshake; src routes by it") {
    t::Tempdir dir;
    auto certs = make_certs(dir);
    t::HttpBackend primary([](const t::SeenRequest& r) { return t::Reply::text("primary " + r.header("X-Tls").value_or("")); });
    t::HttpBackend cloud("cloud");
    auto lb = t::start_with_config(
        dir, geo_config("accept-proxy ssl crt " + certs.dir.string(),
                        "    http-request set-header X-Tls \"%[ssl_fc_sni] %[ssl_fc_protocol]\"\n", "84.208.0.0/16",
                        primary, cloud));
    auto at = lb.listener("fe");
    auto no = t::tls_exchange(at, "b.test", kGetClose, t::proxy_v1("84.208.0.1"));
    REQUIRE(no.has_value());
    CHECK(has(*no, "\r\n\r\nprimary b.test TLSv1.3"));
    auto other = t::tls_exchange(at, "a.test", kGetClose, t::proxy_v1("198.51.100.7"));
    REQUIRE(other.has_value());
    CHECK(has(*other, "\r\n\r\ncloud"));
    // Without the header the connection is refused before any TLS.
    CHECK_FALSE(t::tls_exchange(at, "a.test", kGetClose).has_value());
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
