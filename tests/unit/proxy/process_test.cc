#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <unistd.h>

#include "proxy/listener.hh"
#include "proxy/process.hh"
#include "proxy/shared.hh"

using namespace skjold;

namespace {

conf::Snapshot one_frontend(const char* addr) {
    conf::Snapshot s;
    conf::Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    conf::Bind b;
    b.addrs.push_back(*core::parse_sock_addr(addr));
    fe.binds.push_back(b);
    s.proxies.push_back(fe);
    return s;
}

}  // namespace

TEST_CASE("a port-0 bind gets one kernel-chosen port shared by every worker's socket") {
    auto snap = one_frontend("127.0.0.1:0");
    auto ls = proxy::open_listeners(snap, 3);
    REQUIRE(ls.has_value());
    REQUIRE(ls->size() == 1);
    const auto& l = ls->front();
    CHECK(l.addr.port() != 0);
    REQUIRE(l.fds.size() == 3);
    for (int fd : l.fds) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        CHECK(core::SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len).port() == l.addr.port());
    }
    proxy::close_listeners(*ls);
}

TEST_CASE("the ready file names each listener's proxy, bind name and bound address") {
    auto snap = one_frontend("127.0.0.1:0");
    snap.proxies[0].binds[0].name = "web";
    auto ls = proxy::open_listeners(snap, 1);
    REQUIRE(ls.has_value());
    char tmpl[] = "/tmp/skjold-ready-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    std::string path = std::string(tmpl) + "/ready";
    REQUIRE(proxy::write_ready_file(path, snap, *ls).has_value());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "fe web 127.0.0.1:" + std::to_string(ls->front().addr.port()) + "\n");
    CHECK(access((path + ".tmp").c_str(), F_OK) != 0);
    unlink(path.c_str());
    rmdir(tmpl);
    proxy::close_listeners(*ls);
}

TEST_CASE("binding an address already in use fails naming the bind's FILE:LINE and address") {
    auto snap = one_frontend("127.0.0.1:0");
    auto first = proxy::open_listeners(snap, 1);
    REQUIRE(first.has_value());
    // A second process-like bind without SO_REUSEPORT sharing: take the port with a plain socket.
    auto snap2 = one_frontend(("127.0.0.1:" + std::to_string(first->front().addr.port())).c_str());
    snap2.proxies[0].binds[0].loc = {"x.cfg", 7};
    int plain = socket(AF_INET, SOCK_STREAM, 0);
    proxy::close_listeners(*first);
    auto addr = snap2.proxies[0].binds[0].addrs[0];
    REQUIRE(bind(plain, addr.sa(), addr.len) == 0);
    REQUIRE(listen(plain, 1) == 0);
    auto second = proxy::open_listeners(snap2, 1);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().detail.find("x.cfg:7: cannot bind 127.0.0.1:") == 0);
    close(plain);
}

TEST_CASE("starting with a keyword whose runtime is missing names its FILE:LINE and the feature") {
    conf::Snapshot s;
    // Every feature of today's keywords runs; the gate stays for what comes later.
    s.feature_uses.push_back({"quic", {"a.cfg", 12}, "bind ... quic"});
    s.feature_uses.push_back({"process", {"a.cfg", 3}, "daemon"});
    s.feature_uses.push_back({"tls", {"a.cfg", 4}, "bind ... ssl"});
    auto msgs = proxy::unavailable_features(s);
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0] == "a.cfg:12: 'bind ... quic': this feature is not available yet in this build of skjold");
}

TEST_CASE("a limit split across workers gives every worker a share and keeps the total") {
    CHECK(proxy::share_of(0, 0, 4) == 0);
    CHECK(proxy::share_of(10, 0, 4) + proxy::share_of(10, 1, 4) + proxy::share_of(10, 2, 4) +
              proxy::share_of(10, 3, 4) == 10);
    CHECK(proxy::share_of(1, 3, 4) == 1);   // never 0: every worker can take one
}
