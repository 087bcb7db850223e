// TLS to servers (issue 6, "To servers"): `server ... ssl verify required ca-file sni` in mode
// http and mode tcp, against nginx from Debian (nginx-light) with a certificate made by the
// openssl CLI for each test; `check-ssl` and TLS health checks. nginx runs in the foreground
// (daemon off, master_process off) on a free port of 127.0.0.1, with its pid file, logs and
// temp paths in the test's directory, and is stopped by PID.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hh"
#include "http_client.hh"
#include "stats_client.hh"
#include "tls_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

// A CA, a server certificate for localhost/127.0.0.1 signed by it, and an unrelated CA.
void make_certificates(const t::Tempdir& dir) {
    auto ossl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), "openssl");
        auto r = t::run_process(args, 20s, dir.path());
        REQUIRE_MESSAGE(r.exit_code == 0, "openssl " << args[1] << ": " << r.err);
    };
    const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
    auto with = [&](std::vector<std::string> head, std::vector<std::string> tail) {
        head.insert(head.end(), ec.begin(), ec.end());
        head.insert(head.end(), tail.begin(), tail.end());
        return head;
    };
    ossl(with({"req", "-x509"}, {"-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=skjold test CA"}));
    ossl(with({"req", "-x509"}, {"-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=other CA"}));
    ossl(with({"req"}, {"-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"}));
    dir.write("ext.cnf", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    ossl({"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
          "server.pem", "-days", "2", "-extfile", "ext.cnf"});
}

bool can_connect(const t::Address& a) {
    auto c = t::Connection::open(a, {}, 200ms);
    return c.connected();
}

// nginx with TLS on 127.0.0.1:port. Each answer names the nginx connection ($connection) and
// says whether its TLS session was resumed ($ssl_session_reused) and which SNI it got.
class Nginx {
public:
    static Nginx start(const t::Tempdir& dir, std::uint16_t port = 0) {
        Nginx n;
        if (port == 0) port = t::dead_address().port();
        n.address_ = *t::Address::ip("127.0.0.1", port);
        const std::string d = dir.path().string();
        std::filesystem::create_directories(dir / "nginx-tmp");
        dir.write("nginx.conf", t::fill(R"(daemon off;
master_process off;
worker_processes 1;
pid ${D}/nginx.pid;
error_log ${D}/nginx-error.log info;
events { worker_connections 256; }
http {
    access_log ${D}/nginx-access.log;
    client_body_temp_path ${D}/nginx-tmp; proxy_temp_path ${D}/nginx-tmp; fastcgi_temp_path ${D}/nginx-tmp;
    uwsgi_temp_path ${D}/nginx-tmp; scgi_temp_path ${D}/nginx-tmp;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:${PORT} ssl;
        ssl_certificate ${D}/server.pem;
        ssl_certificate_key ${D}/server.key;
        location / {
            add_header X-Conn $connection;
            add_header X-Reused $ssl_session_reused;
            add_header X-Sni "$ssl_server_name";
            return 200 "hello from nginx\n";
        }
        location /big { alias ${D}/big.bin; }
    }
}
)",
                                                   {{"D", d}, {"PORT", std::to_string(port)}}));
        int out = ::open((dir / "nginx.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        n.pid_ = t::spawn_process({kNginx, "-p", d, "-c", d + "/nginx.conf"}, out, out);
        ::close(out);
        for (int i = 0; i < 100 && !can_connect(n.address_); ++i) std::this_thread::sleep_for(50ms);
        REQUIRE_MESSAGE(can_connect(n.address_), "nginx did not start: see " << d << "/nginx.out");
        return n;
    }
    Nginx(Nginx&& o) noexcept : pid_(o.pid_), address_(o.address_) { o.pid_ = -1; }
    ~Nginx() { stop(); }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 100; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    const t::Address& address() const noexcept { return address_; }
    std::string port() const { return std::to_string(address_.port()); }

private:
    Nginx() = default;
    pid_t pid_ = -1;
    t::Address address_;
};

void require_tools() {
    if (::access(kNginx, X_OK) != 0) t::skip_run("nginx (nginx-light) is not installed");
    if (t::run_process({"openssl", "version"}).exit_code != 0) t::skip_run("the openssl CLI is not installed");
}

// skjold on `config`. A build whose feature gate still refuses TLS (proxy/process.cc
// feature_available) skips the run instead of failing it.
t::Skjold start_skjold(const t::Tempdir& dir, const std::string& config) {
    static bool gate_checked = false;
    if (!gate_checked) {
        gate_checked = true;
        auto probe = dir.write("probe.cfg", "defaults\n    mode http\nbackend b\n    server s 127.0.0.1:1 ssl verify none\n"
                                            "frontend f\n    bind 127.0.0.1:0\n    default_backend b\n");
        auto r = t::run_process({t::skjold_binary(), "-f", probe.string(), "--ready-file", (dir / "probe.ready").string()},
                                1s);
        if (r.exit_code == 1 && (r.out + r.err).find("not available yet") != std::string::npos)
            t::skip_run("this build refuses TLS keywords at start (feature \"tls\" not enabled)");
    }
    return t::start_with_config(dir, config);
}

std::string http_config(const t::Tempdir& dir, const Nginx& ng, std::string_view server_opts,
                        std::string_view backend_extra = {}, std::string_view global_extra = {}) {
    return t::fill(R"(global
    nbthread 1
${GLOBAL}defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
${EXTRA}
    server s1 127.0.0.1:${PORT} ${OPTS}
)",
                   {{"PORT", ng.port()}, {"OPTS", std::string(server_opts)}, {"EXTRA", std::string(backend_extra)},
                    {"GLOBAL", std::string(global_extra)}, {"D", dir.path().string()}});
}

std::string verified(const t::Tempdir& dir, std::string_view ca = "ca.pem") {
    return "ssl verify required ca-file " + (dir / ca).string() + " sni str(localhost)";
}

// Each test's directory, certificates and nginx (`big`: bytes of nginx's /big).
struct WithNginx {
    t::Tempdir dir;
    std::optional<Nginx> ng;
    explicit WithNginx(const std::string& big = {}) {
        require_tools();
        make_certificates(dir);
        if (!big.empty()) dir.write("big.bin", big);
        ng.emplace(Nginx::start(dir));
    }
};

}  // namespace

TEST_SUITE_BEGIN("tls-server");

TEST_CASE("a GET through `server ... ssl verify required` reaches nginx over TLS with the configured SNI") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir)));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello from nginx\n");
    CHECK(r.header("X-Sni").value_or("") == "localhost");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a server certificate that does not verify is a connect error: 503 after the retries, logged") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    // retries 1 and a short timeout connect: the retry waits min(timeout connect, 1 s).
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir, "other.pem"), "    retries 1"));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/"));
    CHECK(r.status == 503);
    CHECK(t::eventually([&] { return lb.log().find("TLS handshake failed") != std::string::npos; }, 2s));
    CHECK(lb.log().find("certificate") != std::string::npos);
    // A wrong name fails verification as well (the SNI is the name checked).
    CHECK(lb.stop() == 0);
}

TEST_CASE("a certificate for another name fails verification when sni names the server") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto opts = "ssl verify required ca-file " + (dir / "ca.pem").string() + " sni str(www.example.org)";
    auto lb = start_skjold(dir, http_config(dir, ng, opts, "    retries 0"));
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/")).status == 503);
    CHECK(lb.stop() == 0);
}

TEST_CASE("verify none accepts a certificate no CA vouches for") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, http_config(dir, ng, "ssl verify none"));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello from nginx\n");
    CHECK(lb.stop() == 0);
}

TEST_CASE("keep-alive requests reuse one TLS connection to the server") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir)));
    auto c = t::HttpClient::open(lb.listener("fe"));
    REQUIRE(c.connected());
    std::string first;
    for (int i = 0; i < 5; ++i) {
        auto r = c.roundtrip(t::http_get("/k" + std::to_string(i)));
        REQUIRE(r.status == 200);
        auto conn = r.header("X-Conn").value_or("?");
        if (i == 0) first = conn;
        CHECK(conn == first);   // nginx saw one connection
    }
    c.close();
    // The pooled connection serves the next client too (http-reuse safe: not its first request).
    auto c2 = t::HttpClient::open(lb.listener("fe"));
    c2.roundtrip(t::http_get("/a"));
    auto r2 = c2.roundtrip(t::http_get("/b"));
    CHECK(r2.status == 200);
    CHECK(lb.stop() == 0);
}

TEST_CASE("show info CurrSslConns counts a TLS connection to a server while it serves and while it is pooled") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    const std::string sock = (dir / "stats.sock").string();
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir), {}, "    stats socket " + sock + " level admin\n"));
    auto info = [&](const char* key) { return t::parse_info(t::stats_command(sock, "show info"))[key]; };
    CHECK(info("CurrSslConns") == "0");
    auto c = t::HttpClient::open(lb.listener("fe"));   // plain HTTP: the only TLS is to nginx
    REQUIRE(c.connected());
    REQUIRE(c.roundtrip(t::http_get("/")).status == 200);
    CHECK(t::eventually([&] { return info("CurrSslConns") == "1"; }, 2s));
    REQUIRE(c.roundtrip(t::http_get("/again")).status == 200);   // on the kept connection: still one
    CHECK(info("CurrSslConns") == "1");
    c.close();
    // The client is gone; its server connection waits in the idle pool, open and counted ...
    CHECK(t::eventually([&] { return info("CurrConns") == "0"; }, 2s));
    CHECK(info("CurrSslConns") == "1");
    // ... until the pool closes it (after 5 s idle, HAProxy's pool-purge-delay).
    CHECK(t::eventually([&] { return info("CurrSslConns") == "0"; }, 10s));
    CHECK(lb.stop() == 0);
}

TEST_CASE("a new connection to the server resumes the last TLS session") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir), "    http-reuse never"));
    auto a = t::fetch(lb.listener("fe"), t::http_get("/1"));
    auto b = t::fetch(lb.listener("fe"), t::http_get("/2"));
    REQUIRE(a.status == 200);
    REQUIRE(b.status == 200);
    CHECK(a.header("X-Conn") != b.header("X-Conn"));          // two server connections
    CHECK(a.header("X-Reused").value_or("") == ".");          // the first: a full handshake
    CHECK(b.header("X-Reused").value_or("") == "r");          // the second: resumed
    CHECK(lb.stop() == 0);
}

TEST_CASE("a 4 MB body arrives intact from a TLS server, also to a client that reads slowly") {
    const std::string big = t::random_bytes(4 << 20, 6);
    WithNginx w(big);
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, http_config(dir, ng, verified(dir)));
    auto r = t::fetch(lb.listener("fe"), t::http_get("/big"), {}, {}, 20s);
    CHECK(r.status == 200);
    CHECK(r.body.size() == big.size());
    CHECK(t::sha256_hex(r.body) == t::sha256_hex(big));
    // A slow reader: backpressure holds decrypted data back and the transfer still completes.
    auto out = dir / "slow.bin";
    auto res = t::curl({"--limit-rate", "4M", "-o", out.string(), t::url(lb.listener("fe"), "/big")}, 30s);
    CHECK(res.exit_code == 0);
    std::ifstream f(out, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    CHECK(t::sha256_hex(ss.str()) == t::sha256_hex(big));
    CHECK(lb.stop() == 0);
}

TEST_CASE("mode tcp relays to a TLS server") {
    const std::string big = t::random_bytes(1 << 20, 7);
    WithNginx w(big);
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto lb = start_skjold(dir, t::fill(R"(defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen tt
    bind 127.0.0.1:0
    server s1 127.0.0.1:${PORT} ${OPTS}
)",
                                        {{"PORT", ng.port()}, {"OPTS", verified(dir)}}));
    auto c = t::Connection::open(lb.listener("tt"));
    REQUIRE(c.connected());
    // The client's FIN becomes close_notify + FIN toward nginx; nginx answers, then closes.
    auto got = c.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10s);
    CHECK(got.end == t::Received::End::eof);
    CHECK(got.data.find("200 OK") != std::string::npos);
    CHECK(got.data.find("hello from nginx") != std::string::npos);
    // No half-close here: nginx takes a close_notify for the end of the connection.
    auto c2 = t::Connection::open(lb.listener("tt"));
    REQUIRE(c2.send_all("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto big_reply = c2.recv_all(20s);
    CHECK(big_reply.end == t::Received::End::eof);
    CHECK(big_reply.data.size() > big.size());
    CHECK(big_reply.data.substr(big_reply.data.size() - std::min(big.size(), big_reply.data.size())) == big);
    CHECK(lb.stop() == 0);
}

TEST_CASE("TLS health checks: check on an ssl server, check-ssl; UP over TLS, DOWN when nginx stops or the CA is wrong") {
    WithNginx w;
    auto& dir = w.dir;
    auto& ng = *w.ng;
    auto sock = dir / "stats.sock";
    auto cfg = t::fill(R"(global
    stats socket ${SOCK} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 1s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    option httpchk GET /
    server s1 127.0.0.1:${PORT} ${OPTS} check inter 200ms rise 1 fall 1
backend be2
    server tcp 127.0.0.1:${PORT} check-ssl verify none check inter 200ms rise 1 fall 1
    server badca 127.0.0.1:${PORT} check-ssl ca-file ${D}/other.pem check inter 200ms rise 1 fall 1
)",
                       {{"SOCK", sock.string()}, {"PORT", ng.port()}, {"OPTS", verified(dir)}, {"D", dir.path().string()}});
    auto lb = start_skjold(dir, cfg);
    auto stat = [&](std::string_view px, std::string_view sv, std::string_view field) {
        return t::parse_stat(t::stats_command(sock, "show stat")).get(px, sv, field);
    };
    CHECK(t::eventually([&] { return stat("be", "s1", "check_status") == "L7OK"; }, 3s));
    CHECK(stat("be", "s1", "check_code") == "200");
    CHECK(t::eventually([&] { return stat("be2", "tcp", "check_status") == "L6OK"; }, 3s));
    CHECK(t::eventually([&] { return stat("be2", "badca", "status") == "DOWN"; }, 3s));
    CHECK(stat("be2", "badca", "check_status") == "L6RSP");
    CHECK(stat("be", "s1", "status") == "UP");
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/")).status == 200);
    ng.stop();
    CHECK(t::eventually([&] { return stat("be", "s1", "status") == "DOWN"; }, 3s));
    CHECK(t::eventually([&] { return stat("be2", "tcp", "status") == "DOWN"; }, 3s));
    CHECK(lb.log().find("Server be/s1 is DOWN") != std::string::npos);
    // nginx back on the same port: the check over TLS brings the server UP again.
    auto again = Nginx::start(dir, ng.address().port());
    CHECK(t::eventually([&] { return stat("be", "s1", "status") == "UP"; }, 5s));
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
