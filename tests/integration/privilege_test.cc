// Privilege drop (issue 7): `user`, `group` and `chroot` seen from outside, in /proc, for the
// process and every one of its threads, while the proxy still serves. Needs root (skipped with a
// message otherwise).
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"

namespace t = skjold::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// "Name:\tvalue" lines of a /proc status file.
std::map<std::string, std::string> proc_status(const fs::path& file) {
    std::map<std::string, std::string> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::size_t v = line.find_first_not_of(" \t", colon + 1);
        out[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
    }
    return out;
}

// LeakSanitizer (the sanitizer build) reads /proc/PID/task at exit, which a chrooted skjold
// cannot see: it would abort the exit. The leak check stays on in every other suite.
void no_leak_check_in_chroot() {
    const char* cur = std::getenv("ASAN_OPTIONS");
    std::string opts = cur != nullptr ? cur : "";
    if (opts.find("detect_leaks=0") == std::string::npos) setenv("ASAN_OPTIONS", (opts + ":detect_leaks=0").c_str(), 1);
}

// Every test here drops privileges: false (with a message, the test then passes empty) when not
// root; otherwise the leak check is switched off for the chrooted skjold.
bool can_drop_privileges() {
    if (geteuid() != 0) {
        MESSAGE("not root: the privilege drop cannot be tested here");
        return false;
    }
    no_leak_check_in_chroot();
    return true;
}

// The chroot, dir/jail, with dir's own path again inside it. skjold writes its ready file after
// the drop, inside the chroot, so the path a test waits on (dir/link/ready) leads through a
// symlink to the same path under the chroot: a `link` directory nobody (the dropped user) may
// write in. Returns the chroot.
fs::path make_jail(const t::Tempdir& dir) {
    const fs::path jail = dir / "jail";
    const fs::path link = jail / dir.path().relative_path() / "link";
    fs::create_directories(link);
    fs::permissions(link, fs::perms::all);
    fs::create_directory_symlink(link, dir / "link");
    return jail;
}

// skjold on `cfg`, waiting for the ready file make_jail() leads into the chroot.
t::Skjold start_jailed(const t::Tempdir& dir, const fs::path& cfg) {
    return t::Skjold::start({"-f", cfg.string(), "--ready-file", (dir / "link" / "ready").string()});
}

}  // namespace

TEST_SUITE_BEGIN("privilege");

TEST_CASE("user, group and chroot apply to every thread, CAP_NET_BIND_SERVICE is all that stays, and the proxy serves") {
    if (!can_drop_privileges()) return;
    t::Tempdir dir;
    t::HttpBackend be("served");
    const fs::path jail = make_jail(dir);
    auto cfg = dir.write("skjold.cfg", t::fill("global\n"
                                               "    user nobody\n"
                                               "    group nogroup\n"
                                               "    chroot ${JAIL}\n"
                                               "    nbthread 2\n",
                                               {{"JAIL", jail.string()}}) +
                                           std::string(t::kHttpDefaults) +
                                           t::fill("listen fe\n"
                                                   "    bind 127.0.0.1:0\n"
                                                   "    server s1 ${S}\n",
                                                   {{"S", be.addr()}}));
    auto lb = start_jailed(dir, cfg);
    const fs::path proc = "/proc/" + std::to_string(lb.pid());

    std::error_code ec;
    CHECK(fs::read_symlink(proc / "root", ec) == jail);
    std::size_t threads = 0;
    for (const auto& task : fs::directory_iterator(proc / "task")) {
        auto st = proc_status(task.path() / "status");
        INFO("thread " << task.path().filename().string() << " (" << st["Name"] << ")");
        CHECK(st["Uid"] == "65534\t65534\t65534\t65534");
        CHECK(st["Gid"] == "65534\t65534\t65534\t65534");
        CHECK(st["Groups"] == "");
        CHECK(st["CapEff"] == "0000000000000400");   // CAP_NET_BIND_SERVICE only
        CHECK(st["CapPrm"] == "0000000000000400");
        CHECK(st["CapInh"] == "0000000000000000");
        CHECK(st["CapBnd"] == "0000000000000400");
        CHECK(st["CapAmb"] == "0000000000000000");
        ++threads;
    }
    CHECK(threads >= 3);   // the control thread and two workers at least

    auto r = t::fetch(lb.listener("fe"), t::http_get("/"));
    INFO(r);
    CHECK(r.status == 200);
    CHECK(r.body == "served");
    CHECK(lb.stop() == 0);
}

TEST_CASE("under chroot and user, a reload reads the files inside the chroot and binds a new port below 1024") {
    if (!can_drop_privileges()) return;
    t::Tempdir dir;
    t::HttpBackend one("one"), two("two");
    const fs::path jail = make_jail(dir);
    const fs::path inside = jail / dir.path().relative_path();
    // A free privileged port for the listener the reload adds.
    std::uint16_t low = 0;
    for (std::uint16_t p = 990; p > 900 && low == 0; --p) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        auto a = *t::Address::ip("127.0.0.1", p);
        if (bind(fd, a.sa(), a.length) == 0) low = p;
        close(fd);
    }
    REQUIRE(low != 0);
    auto config = [&](const t::HttpBackend& be, std::string_view binds) {
        return t::fill("global\n    user nobody\n    group nogroup\n    chroot ${JAIL}\n", {{"JAIL", jail.string()}}) +
               std::string(t::kHttpDefaults) +
               t::fill("listen fe\n${BINDS}    server s1 ${S}\n", {{"BINDS", std::string(binds)}, {"S", be.addr()}});
    };
    // The configuration at its path, and the same file at the same path inside the chroot.
    const std::string first = config(one, "    bind 127.0.0.1:0\n");
    auto cfg = dir.write("skjold.cfg", first);
    std::ofstream(inside / "skjold.cfg") << first;
    fs::permissions(inside / "skjold.cfg", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    auto lb = start_jailed(dir, cfg);
    CHECK(lb.log().find("a reload would fail") == std::string::npos);
    const auto fe = lb.listener("fe");
    CHECK(t::fetch(fe, t::http_get("/")).body == "one");

    std::ofstream(inside / "skjold.cfg", std::ios::trunc)
        << config(two, "    bind 127.0.0.1:0\n    bind 127.0.0.1:" + std::to_string(low) + " name low\n");
    REQUIRE(lb.reload());
    CHECK(t::fetch(fe, t::http_get("/")).body == "two");
    CHECK(t::fetch(lb.listener("fe", "low"), t::http_get("/")).body == "two");
    CHECK(lb.stop() == 0);
}

TEST_CASE("under chroot, a configuration missing inside the chroot is reported at start") {
    if (!can_drop_privileges()) return;
    t::Tempdir dir;
    t::HttpBackend be("served");
    const fs::path jail = make_jail(dir);
    auto cfg = dir.write("skjold.cfg", t::fill("global\n    chroot ${JAIL}\n", {{"JAIL", jail.string()}}) +
                                           std::string(t::kHttpDefaults) +
                                           t::fill("listen fe\n    bind 127.0.0.1:0\n    server s1 ${S}\n", {{"S", be.addr()}}));
    auto lb = start_jailed(dir, cfg);
    CHECK(lb.log().find("a reload would fail after chroot/user: " + cfg.string()) != std::string::npos);
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/")).body == "served");
    CHECK_FALSE(lb.reload());   // and indeed it does, keeping the running configuration
    CHECK(t::fetch(lb.listener("fe"), t::http_get("/")).body == "served");
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
