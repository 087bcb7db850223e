// `log` targets seen from outside: a UDP syslog receiver (IPv4 and IPv6), a unix datagram socket
// and stdout get well-formed lines from the real binary: HAProxy's "Proxy X started." at start,
// "Proxy X stopped (cumulated conns: ...)." at stop, and one `option tcplog` line per tcp session.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

// A datagram socket the test owns: UDP on 127.0.0.1:0 / [::1]:0, or unix at a path.
class DgramReceiver {
public:
    static DgramReceiver udp(int family) {
        DgramReceiver r;
        r.fd_ = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (family == AF_INET) {
            auto* a = reinterpret_cast<sockaddr_in*>(&ss);
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            len = sizeof *a;
        }
        if (r.fd_ < 0 || bind(r.fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
            r.close_fd();
            return r;
        }
        getsockname(r.fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        r.port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
        return r;
    }
    static DgramReceiver unix_at(const std::string& path) {
        DgramReceiver r;
        r.fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, sizeof a.sun_path - 1);
        if (r.fd_ < 0 || bind(r.fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) r.close_fd();
        r.path_ = path;
        return r;
    }
    DgramReceiver(DgramReceiver&& o) noexcept : fd_(o.fd_), port_(o.port_), path_(std::move(o.path_)) { o.fd_ = -1; }
    DgramReceiver(const DgramReceiver&) = delete;
    DgramReceiver& operator=(const DgramReceiver&) = delete;
    ~DgramReceiver() {
        close_fd();
        if (!path_.empty()) unlink(path_.c_str());
    }

    bool ok() const noexcept { return fd_ >= 0; }
    std::uint16_t port() const noexcept { return port_; }

    // Datagrams until one contains `needle` (returned), or "" after `limit`. Earlier ones are kept
    // in seen().
    std::string wait_for(std::string_view needle, std::chrono::milliseconds limit = 5s) {
        for (const auto& d : seen_)
            if (d.find(needle) != std::string::npos) return d;
        auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 50) != 1) continue;
            std::string b(70000, '\0');
            ssize_t n = recv(fd_, b.data(), b.size(), 0);
            if (n <= 0) continue;
            b.resize(static_cast<std::size_t>(n));
            seen_.push_back(b);
            if (b.find(needle) != std::string::npos) return b;
        }
        return {};
    }
    // Everything received within `quiet` of silence.
    const std::vector<std::string>& collect(std::chrono::milliseconds quiet = 300ms) {
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(quiet.count())) != 1) break;
            std::string b(70000, '\0');
            ssize_t n = recv(fd_, b.data(), b.size(), 0);
            if (n <= 0) break;
            b.resize(static_cast<std::size_t>(n));
            seen_.push_back(b);
        }
        return seen_;
    }

private:
    DgramReceiver() = default;
    void close_fd() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::string path_;
    std::vector<std::string> seen_;
};

std::string pid_str(const t::Skjold& lb) { return std::to_string(lb.pid()); }

// HAProxy's default ("local") framing: <PRI>Mmm dd hh:mm:ss skjold[PID]: MSG\n
std::regex local_frame(int pri, const std::string& pid, const std::string& msg_re) {
    return std::regex("<" + std::to_string(pri) + ">[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} skjold\\[" + pid +
                      "\\]: " + msg_re + "\n");
}

}  // namespace

TEST_SUITE_BEGIN("log");

TEST_CASE("UDP and unix datagram targets receive HAProxy-framed start and stop lines") {
    t::Tempdir dir;
    auto udp = DgramReceiver::udp(AF_INET);
    auto ux = DgramReceiver::unix_at((dir / "log.sock").string());
    REQUIRE(udp.ok());
    REQUIRE(ux.ok());
    t::TcpAnswerServer s("served");
    auto lb = t::start_with_config(dir, t::fill("global\n"
                                                "    log 127.0.0.1:${UDP} local0\n"
                                                "    log ${UNIX} format rfc5424 local1 notice\n",
                                                {{"UDP", std::to_string(udp.port())}, {"UNIX", (dir / "log.sock").string()}}) +
                                            std::string(t::kTcpDefaults) +
                                            t::fill("    log global\n"
                                                    "frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s ${S}\n",
                                                    {{"S", s.address().to_string()}}));
    std::string pid = pid_str(lb);
    // notice (5) in local0 (16): PRI 133; local1 (17): 141.
    std::string started = udp.wait_for("Proxy fe started.");
    CHECK(std::regex_match(started, local_frame(133, pid, "Proxy fe started\\.")));
    CHECK(std::regex_match(udp.wait_for("Proxy be started."), local_frame(133, pid, "Proxy be started\\.")));
    std::string u = ux.wait_for("Proxy fe started.");
    CHECK(std::regex_match(u, std::regex("<141>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} "
                                         "[^ ]+ skjold " + pid + " - - Proxy fe started\\.\n")));

    CHECK(t::who_answers(lb.listener("fe")) == "served");
    CHECK(lb.stop() == 0);
    // warning (4): PRI 132. One session went through fe and be.
    CHECK(std::regex_match(udp.wait_for("Proxy fe stopped"),
                           local_frame(132, pid, "Proxy fe stopped \\(cumulated conns: FE: 1, BE: 0\\)\\.")));
    CHECK(std::regex_match(udp.wait_for("Proxy be stopped"),
                           local_frame(132, pid, "Proxy be stopped \\(cumulated conns: FE: 0, BE: 1\\)\\.")));
    CHECK(ux.wait_for("Proxy be stopped").find("<140>1 ") == 0);
}

TEST_CASE("an IPv6 UDP target receives the lines") {
    auto udp6 = DgramReceiver::udp(AF_INET6);
    if (!udp6.ok()) {
        MESSAGE("no IPv6 loopback here; not tested");
        return;
    }
    t::Tempdir dir;
    t::TcpAnswerServer s("served");
    auto lb = t::start_with_config(dir, "global\n    log [::1]:" + std::to_string(udp6.port()) + " len 120 format rfc3164 daemon\n" +
                                            std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    log global\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s ${S}\n",
                                                    {{"S", s.address().to_string()}}));
    // daemon (3), notice: PRI 29; rfc3164 carries the host name. Only fe has `log global`.
    std::string line = udp6.wait_for("Proxy fe started.");
    CHECK(std::regex_match(line, std::regex("<29>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ skjold\\[" + pid_str(lb) +
                                            "\\]: Proxy fe started\\.\n")));
    CHECK(lb.stop() == 0);
    udp6.wait_for("Proxy fe stopped");
    for (const auto& d : udp6.collect()) CHECK(d.find("Proxy be") == std::string::npos);
}

TEST_CASE("log stdout format raw prints bare lines on standard output") {
    t::Tempdir dir;
    t::TcpAnswerServer s("served");
    auto lb = t::start_with_config(dir, "global\n    log stdout format raw local0\n" + std::string(t::kTcpDefaults) +
                                            t::fill("    log global\n"
                                                    "frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s ${S}\n",
                                                    {{"S", s.address().to_string()}}));
    CHECK(t::who_answers(lb.listener("fe")) == "served");
    CHECK(lb.stop() == 0);
    std::vector<std::string> lines;
    std::istringstream in(lb.log());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    auto has = [&](const std::string& l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); };
    CHECK(has("Proxy fe started."));
    CHECK(has("Proxy be started."));
    CHECK(has("Proxy fe stopped (cumulated conns: FE: 1, BE: 0)."));
}

// Needs the tcp session to call proxy::log_session() when it ends (proxy/worker_runtime.cc).
TEST_CASE("option tcplog: one line per tcp session, field by field; dontlognull skips empty sessions") {
    t::Tempdir dir;
    auto udp = DgramReceiver::udp(AF_INET);
    REQUIRE(udp.ok());
    t::TcpEchoServer echo;
    auto lb = t::start_with_config(dir, "global\n    log 127.0.0.1:" + std::to_string(udp.port()) + " local0\n" +
                                            std::string(t::kTcpDefaults) +
                                            t::fill("    log global\n"
                                                    "    option tcplog\n"
                                                    "frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    option dontlognull\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s ${S}\n",
                                                    {{"S", echo.address().to_string()}}));
    REQUIRE_FALSE(udp.wait_for("Proxy fe started.").empty());
    {
        // Connects and closes without a byte: not logged (dontlognull).
        auto c = t::Connection::open(lb.listener("fe"));
        REQUIRE(c.connected());
        c.close();
    }
    auto c = t::Connection::open(lb.listener("fe"));
    REQUIRE(c.connected());
    std::string client = c.local().to_string();   // 127.0.0.1:PORT
    auto got = c.exchange("hello log");
    CHECK(got.data == "hello log");
    c.close();

    std::string line = udp.wait_for(client + " [");
    INFO("received: " << line);
    // %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
    std::smatch m;
    REQUIRE(std::regex_match(line, m,
                             std::regex("<134>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} skjold\\[" + pid_str(lb) + "\\]: " + client +
                                        " \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}\\] "
                                        "fe be/s ([0-9]+)/([0-9]+)/([0-9]+) ([0-9]+) (..) "
                                        "([0-9]+)/([0-9]+)/([0-9]+)/([0-9]+)/([0-9]+) ([0-9]+)/([0-9]+)\n")));
    CHECK(std::stoll(m[3]) >= std::stoll(m[2]));   // Tt covers Tc
    CHECK(m[4] == "9");                             // bytes to the client: the echo
    CHECK(m[5] == "--");                            // normal termination
    CHECK(m[10] == "0");                            // no retry
    CHECK(m[11] == "0");
    CHECK(m[12] == "0");
    CHECK(lb.stop() == 0);
    // The empty session left no line: only the one session is logged.
    int sessions = 0;
    for (const auto& d : udp.collect())
        if (d.find(" fe be/") != std::string::npos) ++sessions;
    CHECK(sessions == 1);
}

TEST_CASE("a session of a retired generation logs to its own frontend's target after a reload reorders them") {
    t::Tempdir dir;
    auto udp_a = DgramReceiver::udp(AF_INET);
    auto udp_b = DgramReceiver::udp(AF_INET);
    REQUIRE(udp_a.ok());
    REQUIRE(udp_b.ok());
    t::TcpEchoServer echo;
    const std::string port_a = std::to_string(t::free_port()), port_b = std::to_string(t::free_port());
    auto frontend = [&](const std::string& name, const std::string& port, const DgramReceiver& udp) {
        return "frontend " + name + "\n    bind 127.0.0.1:" + port + "\n    log 127.0.0.1:" +
               std::to_string(udp.port()) + " local0\n    option tcplog\n    default_backend be\n";
    };
    const std::string backend = "backend be\n    server s " + echo.address().to_string() + "\n";
    const std::string defaults(t::kTcpDefaults);
    auto lb = t::start_with_config(dir, defaults + frontend("a", port_a, udp_a) + frontend("b", port_b, udp_b) + backend);
    auto c = t::Connection::open(lb.listener("a"));
    REQUIRE(c.connected());
    REQUIRE(c.send_all("before the reload"));
    CHECK(c.recv_n(17).data == "before the reload");
    // The new configuration lists b first: index 0 is now b. The open session belongs to the old
    // generation, where index 0 was a.
    dir.write("skjold.cfg", defaults + frontend("b", port_b, udp_b) + frontend("a", port_a, udp_a) + backend);
    REQUIRE(lb.reload());
    REQUIRE(c.send_all("after the reload"));
    CHECK(c.recv_n(16).data == "after the reload");
    const std::string client = c.local().to_string();
    c.close();
    std::string line = udp_a.wait_for(client + " [");
    INFO("a received: " << line);
    CHECK(line.find(" a be/s ") != std::string::npos);
    for (const auto& d : udp_b.collect()) CHECK_MESSAGE(d.find(client + " [") == std::string::npos, d);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
