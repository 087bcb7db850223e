// The command line without the runtime: -c on good and bad files, -v, --keywords, usage errors.
// These need no io_uring: skjold checks and exits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kValid = "Configuration file is valid";

// A configuration using every tcp-mode keyword of issue #2. HAProxy 2.6 accepts it too, except for
// port 0 in `bind` (skjold allows it so tests never guess a port).
constexpr std::string_view kGoodTcp = R"(global
    maxconn 1000
    nbthread 2
    hard-stop-after 5s
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:0 name local
    acl from_lan src 10.0.0.0/8 192.168.0.0/16
    acl high_port dst_port ge 1024
    acl busy fe_conn gt 100
    tcp-request connection reject if { src 203.0.113.0/24 } !from_lan
    tcp-request connection accept if from_lan || high_port
    use_backend app if { nbsrv(app) ge 1 } { srv_is_up(app/a1) }
    use_backend spare if busy or { be_conn(app) gt 50 }
    use_backend spare if { src_port lt 1024 } { always_true }
    use_backend app unless { always_false }
    default_backend app
backend app
    balance leastconn
    server a1 10.0.0.1:8080 weight 3 maxconn 100
    server a2 10.0.0.2:8080 weight 1 disabled
    server a3 10.0.0.3:8080 backup
backend spare
    balance source
    server s1 10.0.1.1:8080
listen both
    bind 127.0.0.1:0
    balance static-rr
    server b1 10.0.2.1:9000
)";

// CONFIG.md, "Examples that must load unchanged (paths aside)".
constexpr std::string_view kConfigMdExample1 = R"(frontend http_front
    bind *:80
    bind *:443 ssl crt ${CRT}
    acl is_norway src -f ${NO_LIST}
    use_backend coolvds_primary if is_norway
    default_backend aws_proxy
backend coolvds_primary
    balance roundrobin
    option httpchk GET /healthz
    server node1 10.100.0.1:80 check inter 2s rise 2 fall 3
backend aws_proxy
    balance roundrobin
    server aws1 10.100.0.2:80 check
)";

constexpr std::string_view kConfigMdExample2 = R"(frontend http_front
    bind *:80
    acl is_oslo_down nbsrv(oslo_primary) lt 1
    use_backend frankfurt_backup if is_oslo_down
    default_backend oslo_primary
    acl is_bot hdr_sub(User-Agent) -i curl wget
    http-request deny if is_bot
backend frankfurt_backup
    server dr01 10.100.0.2:80 check inter 2000 rise 2 fall 3 backup
)";

// The block above names oslo_primary without defining it (it is an excerpt); HAProxy refuses that
// too, so the loadable form adds the one backend it needs and nothing else.
constexpr std::string_view kOsloPrimary = R"(backend oslo_primary
    server oslo1 10.100.0.1:80 check
)";

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// `word` occurs delimited by anything that cannot be part of a keyword.
bool contains_word(const std::string& text, std::string_view word) {
    auto part = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; };
    for (auto pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
        bool left = pos == 0 || !part(text[pos - 1]);
        bool right = pos + word.size() == text.size() || !part(text[pos + word.size()]);
        if (left && right) return true;
    }
    return false;
}

// A self-signed P-256 certificate and its key in one PEM file, as `crt` takes it.
std::filesystem::path make_pem(const t::Tempdir& dir) {
    auto key = dir / "key.pem";
    auto cert = dir / "cert.pem";
    auto r = t::run_process({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                             "-nodes", "-subj", "/CN=test", "-days", "30", "-keyout", key, "-out", cert});
    REQUIRE_MESSAGE(r.exit_code == 0, "openssl req failed: " << r.err);
    std::ifstream c(cert), k(key);
    std::stringstream both;
    both << c.rdbuf() << k.rdbuf();
    return dir.write("mycert.pem", both.str());
}

}  // namespace

TEST_SUITE_BEGIN("check");

TEST_CASE("-c accepts a valid tcp configuration and says so") {
    t::Tempdir dir;
    auto cfg = dir.write("good.cfg", kGoodTcp);
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, kValid));
}

TEST_CASE("-c rejects an unsupported keyword with FILE:LINE and the keyword") {
    t::Tempdir dir;
    auto cfg = dir.write("bad.cfg", "global\n    maxconn 100\ndefaults\n    mode tcp\n    frobnicate on\n");
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, cfg.string() + ":5: 'frobnicate' is not supported"));
    CHECK_FALSE(contains(r.out, kValid));
}

TEST_CASE("-c reports every error in a file, each with its own line") {
    t::Tempdir dir;
    auto cfg = dir.write("bad.cfg",
                         "defaults\n"                                      // 1
                         "    mode tcp\n"                                  // 2
                         "    timeout client 10parsecs\n"                  // 3: bad time
                         "frontend fe\n"                                   // 4
                         "    bind 127.0.0.1:0\n"                          // 5
                         "    use_backend be if { nosuchfetch 1 }\n"       // 6: unknown fetch
                         "    default_backend be\n"                        // 7
                         "backend be\n"                                    // 8
                         "    server s1 10.0.0.1:99999\n");                // 9: bad port
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, cfg.string() + ":3:"));
    CHECK(contains(r.err, cfg.string() + ":6:"));
    CHECK(contains(r.err, "nosuchfetch"));
    CHECK(contains(r.err, cfg.string() + ":9:"));
}

TEST_CASE("-c with several -f files blames the right file") {
    t::Tempdir dir;
    auto a = dir.write("a.cfg", "global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout client 5s\n");
    auto b = dir.write("b.cfg",
                       "frontend fe\n"
                       "    bind 127.0.0.1:0\n"
                       "    default_backend be\n"
                       "backend be\n"
                       "    balance roundrobbin\n"
                       "    server s 10.0.0.1:80\n");
    auto r = t::run_check({"-c", "-f", a, "-f", b});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, b.string() + ":5:"));
    CHECK(contains(r.err, "balance"));
    CHECK_FALSE(contains(r.err, a.string() + ":"));
    // The same two files with the typo fixed: the defaults of a.cfg carry over into b.cfg.
    auto fixed = dir.write("b.cfg",
                           "frontend fe\n"
                           "    bind 127.0.0.1:0\n"
                           "    default_backend be\n"
                           "backend be\n"
                           "    balance roundrobin\n"
                           "    server s 10.0.0.1:80\n");
    auto ok = t::run_check({"-c", "-f", a, "-f", fixed});
    INFO("stderr (fixed): " << ok.err);
    CHECK(ok.exit_code == 0);
}

TEST_CASE("-c passes on both CONFIG.md examples with their files created") {
    t::Tempdir dir;
    auto pem = make_pem(dir);
    auto no_list = t::testdata_dir() / "no-v4.cidr";
    REQUIRE_MESSAGE(std::filesystem::exists(no_list), no_list << " is missing (SKJOLD_TESTDATA)");
    SUBCASE("the geo example with TLS") {
        auto cfg = dir.write("example1.cfg",
                             t::fill(kConfigMdExample1, {{"CRT", pem.string()}, {"NO_LIST", no_list.string()}}));
        auto r = t::run_check({"-c", "-f", cfg});
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, kValid));
    }
    SUBCASE("the failover example, with the backend it names") {
        auto cfg = dir.write("example2.cfg", std::string(kConfigMdExample2) + std::string(kOsloPrimary));
        auto r = t::run_check({"-c", "-f", cfg});
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, kValid));
    }
}

TEST_CASE("-c says which line names a backend that does not exist") {
    t::Tempdir dir;
    auto cfg = dir.write("example2.cfg", kConfigMdExample2);  // CONFIG.md's excerpt alone
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    // Both references to the missing backend, as HAProxy 2.6 reports them (it gives no line for the
    // second; skjold gives every error its FILE:LINE).
    CHECK(contains(r.err, cfg.string() + ":3:"));  // acl ... nbsrv(oslo_primary)
    CHECK(contains(r.err, cfg.string() + ":5:"));  // default_backend oslo_primary
    CHECK(contains(r.err, "oslo_primary"));
}

TEST_CASE("-c fails on a crt file that does not exist") {
    t::Tempdir dir;
    auto cfg = dir.write("tls.cfg", t::fill(kConfigMdExample1, {{"CRT", (dir / "missing.pem").string()},
                                                               {"NO_LIST", (t::testdata_dir() / "no-v4.cidr").string()}}));
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, cfg.string() + ":3:"));
    CHECK(contains(r.err, "missing.pem"));
}

TEST_CASE("-c passes on every examples/*.cfg") {
    auto examples = t::source_root() / "examples";
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(examples, ec)) {
        if (e.path().extension() == ".cfg") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE_MESSAGE(std::find(files.begin(), files.end(), examples / "demo.cfg") != files.end(),
                    "examples/demo.cfg (required by issue #2) is missing");
    for (const auto& f : files) {
        CAPTURE(f);
        // From the source root, as `make run` starts it, so relative paths in examples resolve.
        auto r = t::run_check({"-c", "-f", std::filesystem::relative(f, t::source_root())}, 10s, t::source_root());
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, kValid));
    }
}

TEST_CASE("an HAProxy-only process keyword loads with a warning that it has no effect") {
    t::Tempdir dir;
    auto cfg = dir.write("nbproc.cfg", "global\n    nbproc 1\n" + std::string(kGoodTcp.substr(7)));
    auto r = t::run_check({"-c", "-f", cfg});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, cfg.string() + ":2:"));
    CHECK(contains(r.err, "nbproc"));
}

TEST_CASE("-v prints the version") {
    auto r = t::run_check({"-v"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out + r.err, SKJOLD_VERSION));
}

TEST_CASE("--keywords lists every keyword CONFIG.md names") {
    auto r = t::run_check({"--keywords"});
    REQUIRE(r.exit_code == 0);
    for (std::string_view kw :
         {"daemon", "user", "group", "chroot", "pidfile", "nbthread", "maxconn", "ulimit-n", "log", "stats",
          "hard-stop-after", "spread-checks", "tune.bufsize", "tune.ssl.cachesize", "tune.ssl.lifetime",
          "ssl-default-bind-options", "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites",
          "ssl-default-server-options", "ssl-default-server-ciphers", "geoip-db", "mode", "option", "bind",
          "timeout", "retries", "acl", "use_backend", "default_backend", "tcp-request", "http-request",
          "http-response", "http-reuse", "errorfile", "monitor-uri", "balance", "http-check", "server",
          "default-server"}) {
        CAPTURE(kw);
        CHECK(contains_word(r.out, kw));
    }
}

TEST_CASE("usage errors exit 2") {
    t::Tempdir dir;
    auto cfg = dir.write("good.cfg", kGoodTcp);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--no-such-option"}, {"-f"}, {"-c"}, {"-c", "-f", cfg, "--ready-file"}}) {
        std::string joined;
        for (const auto& a : args) joined += " " + a;
        CAPTURE(joined);
        auto r = t::run_check(args);
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_FALSE(r.err.empty());
    }
}

TEST_SUITE_END();
