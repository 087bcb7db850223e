// load_files: several -f files as one configuration, unreadable files, relative paths, and the
// two example configurations of CONFIG.md (paths aside), which must load unchanged.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "conf_test_util.hh"

using namespace skjold::conf;
using namespace skjold::conf::test;

namespace {

std::string testdata(const std::string& name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    std::string dir = d != nullptr ? d : "tests/data";   // meson test always sets it
    return dir + "/" + name;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs a block with the current directory set to dir, then restores it.
class Chdir {
public:
    explicit Chdir(const std::filesystem::path& dir) : old_(std::filesystem::current_path()) {
        std::filesystem::current_path(dir);
    }
    ~Chdir() { std::filesystem::current_path(old_); }

private:
    std::filesystem::path old_;
};

}  // namespace

TEST_CASE("several files are read in order as one configuration") {
    Tempdir dir;
    std::string g = dir.write("global.cfg", "global\n  maxconn 100\ndefaults\n  mode http\n  timeout client 1s\n");
    std::string f = dir.write("fe.cfg", "frontend fe\n  bind :1\n  default_backend be\n");
    std::string b = dir.write("be.cfg", "backend be\n  server s 127.0.0.1:1\n");
    std::vector<std::string> files{g, f, b};
    auto r = load_files(files);
    const Snapshot& s = ok(r);
    CHECK(s.files == files);
    REQUIRE(s.proxies.size() == 2);
    CHECK(s.proxies[0].name == "fe");
    CHECK(s.proxies[0].mode == Mode::http);          // defaults of the first file apply to later files
    CHECK(s.proxies[0].maxconn == 100);
    CHECK(s.proxies[0].default_backend == 1);        // resolved across files
    CHECK(s.proxies[0].loc.file == f);
    CHECK(s.proxies[1].loc.file == b);
    CHECK(s.proxies[1].servers[0].loc.str() == b + ":2");
}

TEST_CASE("a file's end closes its section: the next file cannot continue it") {
    Tempdir dir;
    std::string a = dir.write("a.cfg", "backend be\n");
    std::string b = dir.write("b.cfg", "  server s 127.0.0.1:1\n");
    std::vector<std::string> files{a, b};
    auto r = load_files(files);
    CHECK(one_error(r) == b + ":1: 'server' is outside of any section (global, defaults, frontend, backend, listen)");
}

TEST_CASE("a missing file is reported and the other files are still checked") {
    Tempdir dir;
    std::string good = dir.write("good.cfg", "global\n  nbthread x\n");
    std::string missing = dir / "missing.cfg";
    std::vector<std::string> files{missing, good, dir.path().string()};
    auto r = load_files(files);
    CHECK(r.snapshot == nullptr);
    REQUIRE(r.errors.size() == 3);
    CHECK(r.errors[0].str() == missing + ": cannot open: No such file or directory");
    CHECK(r.errors[1].str() == good + ":2: 'nbthread': 'x' is not an integer between 1 and 1024");
    CHECK(r.errors[2].str() == dir.path().string() + ": cannot open: Is a directory");
}

TEST_CASE("an unreadable file says why") {
    if (::geteuid() == 0) return;   // root reads everything; nothing to observe
    Tempdir dir;
    std::string p = dir.write("secret.cfg", "global\n");
    std::filesystem::permissions(p, std::filesystem::perms::none);
    std::vector<std::string> files{p};
    CHECK(one_error(load_files(files)) == p + ": cannot open: Permission denied");
}

TEST_CASE("no file at all is an error") {
    auto r = load_files({});
    CHECK(one_error(r) == "no configuration file given (-f FILE)");
}

TEST_CASE("load_string names its text in messages") {
    auto r = load_string("global\n  bogus\n", "inline.cfg");
    CHECK(one_error(r) == "inline.cfg:2: 'bogus' is not supported");
    auto d = load_string("global\n  bogus\n");
    CHECK(one_error(d) == "<string>:2: 'bogus' is not supported");
}

TEST_CASE("relative paths inside a configuration are relative to the current directory") {
    Tempdir dir;
    dir.write("503.http", "HTTP/1.0 503 Busy\r\n\r\n");
    std::filesystem::create_directory(dir.path() / "sub");
    std::string cfg = dir.write("sub/skjold.cfg", "defaults\n  errorfile 503 503.http\n");
    {
        Chdir cd(dir.path());
        std::vector<std::string> files{cfg};
        {
        auto r_ = load_files(files);
        ok(r_);
    }
    }
    {
        Chdir cd(dir.path() / "sub");   // not relative to the file's own directory
        std::vector<std::string> files{cfg};
        CHECK(one_error(load_files(files)) ==
              cfg + ":2: 'errorfile': cannot open '503.http': No such file or directory");
    }
}

TEST_CASE("the first CONFIG.md example loads unchanged (paths aside)") {
    Tempdir dir;
    std::string list = dir.write("geoip_no.txt", slurp(testdata("no-v4.cidr")));
    std::string cert = dir.write("mycert.pem", "certificate and key (only its readability is checked at load)");
    std::string text = "frontend http_front\n"
                       "    bind *:80\n"
                       "    bind *:443 ssl crt " + cert + "\n"
                       "    acl is_norway src -f " + list + "\n"
                       "    use_backend coolvds_primary if is_norway\n"
                       "    default_backend aws_proxy\n"
                       "backend coolvds_primary\n"
                       "    balance roundrobin\n"
                       "    option httpchk GET /healthz\n"
                       "    server node1 10.100.0.1:80 check inter 2s rise 2 fall 3\n"
                       "backend aws_proxy\n"
                       "    balance roundrobin\n"
                       "    server aws1 10.100.0.2:80 check\n";
    std::string cfg = dir.write("example1.cfg", text);
    std::vector<std::string> files{cfg};
    auto r = load_files(files);
    const Snapshot& s = ok(r);
    REQUIRE(s.proxies.size() == 3);
    const Proxy& fe = proxy(s, "http_front");
    REQUIRE(fe.binds.size() == 2);
    CHECK(fe.binds[0].addrs[0].to_string() == "0.0.0.0:80");
    CHECK(fe.binds[1].ssl);
    CHECK(fe.binds[1].crts == std::vector<std::string>{cert});
    REQUIRE(fe.acls.size() == 1);
    CHECK(fe.acls[0].name == "is_norway");
    REQUIRE(fe.acls[0].exprs.size() == 1);
    CHECK(fe.acls[0].exprs[0].prefixes.size() == 1213);   // every line of no-v4.cidr
    REQUIRE(fe.use_backends.size() == 1);
    CHECK(fe.use_backends[0].backend == s.find_proxy("coolvds_primary"));
    CHECK(fe.use_backends[0].cond.present);
    CHECK(fe.default_backend == s.find_proxy("aws_proxy"));
    const Proxy& primary = proxy(s, "coolvds_primary");
    CHECK(primary.httpchk.enabled);
    CHECK(primary.httpchk.method == "GET");
    CHECK(primary.httpchk.uri == "/healthz");
    CHECK(primary.httpchk.version == "HTTP/1.0");
    REQUIRE(primary.servers.size() == 1);
    CHECK(primary.servers[0].addr.to_string() == "10.100.0.1:80");
    CHECK(primary.servers[0].opt.check);
    CHECK(primary.servers[0].opt.inter == 2000);
    CHECK(primary.servers[0].opt.rise == 2);
    CHECK(primary.servers[0].opt.fall == 3);
    const Proxy& aws = proxy(s, "aws_proxy");
    REQUIRE(aws.servers.size() == 1);
    CHECK(aws.servers[0].opt.check);
    CHECK(aws.servers[0].opt.inter == 2000);   // HAProxy's defaults
    CHECK(has_feature(s, "tls", 3));
    CHECK(has_feature(s, "health", 9));
    CHECK(has_feature(s, "health", 10));
}

TEST_CASE("the second CONFIG.md example loads unchanged") {
    std::string text = "frontend http_front\n"
                       "    bind *:80\n"
                       "    acl is_oslo_down nbsrv(oslo_primary) lt 1\n"
                       "    use_backend frankfurt_backup if is_oslo_down\n"
                       "    default_backend oslo_primary\n"
                       "    acl is_bot hdr_sub(User-Agent) -i curl wget\n"
                       "    http-request deny if is_bot\n"
                       "backend frankfurt_backup\n"
                       "    server dr01 10.100.0.2:80 check inter 2000 rise 2 fall 3 backup\n";
    // The example names oslo_primary without declaring it ("paths aside": the rest of the
    // operator's file); declare it after, as a real configuration would.
    text += "backend oslo_primary\n    server o1 10.100.0.1:80 check\n";
    auto r = load_string(text, "example2.cfg");
    const Snapshot& s = ok(r);
    const Proxy& fe = proxy(s, "http_front");
    REQUIRE(fe.acls.size() == 2);
    CHECK(fe.acls[0].name == "is_oslo_down");
    CHECK(fe.acls[0].exprs[0].fetch.backend == s.find_proxy("oslo_primary"));
    CHECK(fe.use_backends[0].backend == s.find_proxy("frankfurt_backup"));
    CHECK(fe.default_backend == s.find_proxy("oslo_primary"));
    REQUIRE(fe.http_request.size() == 1);
    CHECK(fe.http_request[0].action == Rule::Action::deny);
    CHECK(fe.http_request[0].status == 403);
    const Server& dr = proxy(s, "frankfurt_backup").servers.at(0);
    CHECK(dr.opt.backup);
    CHECK(dr.opt.inter == 2000);
    // In tcp mode (the example sets none) HAProxy ignores http-request rules with a warning.
    CHECK(has_warning(r, "example2.cfg:1: 'http-request' rules ignored for frontend 'http_front' as they require HTTP mode"));
    CHECK(has_feature(s, "http", 7));
}

TEST_CASE("the second CONFIG.md example alone names a backend it does not declare") {
    std::string text = "frontend http_front\n"
                       "    bind *:80\n"
                       "    acl is_oslo_down nbsrv(oslo_primary) lt 1\n"
                       "    use_backend frankfurt_backup if is_oslo_down\n"
                       "    default_backend oslo_primary\n"
                       "backend frankfurt_backup\n"
                       "    server dr01 10.100.0.2:80 check inter 2000 rise 2 fall 3 backup\n";
    auto r = load_string(text, "example2.cfg");
    CHECK(r.snapshot == nullptr);
    bool named = false;
    for (const auto& e : r.errors)
        if (e.str() == "example2.cfg:5: 'default_backend': no backend named 'oslo_primary' (used by frontend 'http_front')")
            named = true;
    CHECK_MESSAGE(named, all(r.errors));
}

TEST_CASE("arbitrary bytes never crash the loader and every error names a line of the text") {
    // Deterministic: a fixed seed and a bounded count. Words are drawn from real keywords and
    // special characters so that the parser, not only the lexer, sees odd input.
    static const char* kWords[] = {"global", "defaults", "frontend", "backend", "listen", "bind", "server",
                                   "option", "timeout", "client", "acl", "use_backend", "if", "unless", "{",
                                   "}", "\"", "'", "\\", "#", "$", "${", "}", "no", "log", "http-request",
                                   "deny", ":80", "1.2.3.4:5", "check", "ssl", "crt", "-f", "src", "x", "\t"};
    std::uint64_t seed = 0x5eed;
    auto next = [&] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(seed >> 33);
    };
    for (int round = 0; round < 300; ++round) {
        std::string text;
        int lines = 1 + static_cast<int>(next() % 12);
        for (int l = 0; l < lines; ++l) {
            int words = static_cast<int>(next() % 7);
            for (int w = 0; w < words; ++w) {
                if (next() % 8 == 0) text += static_cast<char>(1 + next() % 255);
                else text += kWords[next() % (sizeof kWords / sizeof kWords[0])];
                text += next() % 5 == 0 ? "" : " ";
            }
            text += "\n";
        }
        auto r = load_string(text, "fuzz.cfg");
        lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));   // random bytes may add some
        CHECK((r.snapshot == nullptr) == !r.errors.empty());
        for (const auto& e : r.errors) {
            INFO(e.str());
            CHECK((e.line == 0 || (e.line >= 1 && e.line <= lines)));
        }
    }
}
