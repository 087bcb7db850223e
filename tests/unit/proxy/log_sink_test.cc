// Framing (raw, local, RFC 3164, RFC 5424), PRI, `len` truncation and level filtering as HAProxy
// 2.6 sends them (measured against haproxy 2.6.12 here), and the sink and drain sending real
// datagrams to receivers on 127.0.0.1 and in a temporary directory, dropping rather than waiting.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "core/sock_addr.hh"
#include "proxy/log_sink.hh"
#include "tests/unit/temp_file.hh"

namespace p = skjold::proxy;
namespace conf = skjold::conf;
namespace core = skjold::core;

namespace {

constexpr std::int64_t kDate = 1795320306LL * 1000000 + 995903;   // 2026-11-22 04:05:06.995903 UTC
constexpr std::int64_t kFeb6 = 1770379971LL * 1000000;            // 2026-02-06 12:12:51 UTC

struct UtcZone {
    UtcZone() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};
const UtcZone utc_zone;

p::LogIdentity ident() {
    p::LogIdentity id;
    id.tag = "skjold";
    id.hostname = "vm";
    id.pid = 19839;
    return id;
}

conf::LogTarget target(conf::LogFormat fmt, int facility = 16) {
    conf::LogTarget t;
    t.format = fmt;
    t.facility = facility;
    return t;
}

std::string frame(const conf::LogTarget& t, int level, std::int64_t when, std::string_view msg,
                  const p::LogIdentity& id = ident()) {
    std::string b(70000, '\0');
    b.resize(p::frame_log_line(t, level, when, msg, id, b.data(), b.size()));
    return b;
}

// A datagram socket to receive on: UDP on 127.0.0.1:0, or unix at `path`.
struct Receiver {
    int fd = -1;
    std::string path;
    core::SockAddr addr;
    Receiver() {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        addr = core::SockAddr::from(reinterpret_cast<sockaddr*>(&a), len);
    }
    explicit Receiver(std::string p) : path(std::move(p)) {
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        auto a = core::parse_sock_addr(path);
        REQUIRE(a.has_value());
        addr = *a;
        REQUIRE(bind(fd, addr.sa(), addr.len) == 0);
    }
    ~Receiver() {
        close(fd);
        if (!path.empty()) unlink(path.c_str());
    }
    // The next datagram, or "(none)" after 2 s.
    std::string next() {
        pollfd pfd{fd, POLLIN, 0};
        if (poll(&pfd, 1, 2000) != 1) return "(none)";
        std::string b(70000, '\0');
        ssize_t n = recv(fd, b.data(), b.size(), 0);
        b.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return b;
    }
    bool quiet() {
        pollfd pfd{fd, POLLIN, 0};
        return poll(&pfd, 1, 100) == 0;
    }
};

}  // namespace

TEST_CASE("HAProxy's default (local) format: <PRI>, RFC 3164 date, TAG[PID]:, no hostname") {
    CHECK(frame(target(conf::LogFormat::local), 6, kDate, "hello") == "<134>Nov 22 04:05:06 skjold[19839]: hello\n");
    CHECK(conf::LogTarget{}.format == conf::LogFormat::local);   // the default, as HAProxy's
}

TEST_CASE("rfc3164 adds the hostname and pads the day with a space") {
    CHECK(frame(target(conf::LogFormat::rfc3164, 17), 6, kDate, "m") == "<142>Nov 22 04:05:06 vm skjold[19839]: m\n");
    CHECK(frame(target(conf::LogFormat::rfc3164), 4, kFeb6, "m") == "<132>Feb  6 12:12:51 vm skjold[19839]: m\n");
    auto nohost = ident();
    nohost.hostname.clear();
    CHECK(frame(target(conf::LogFormat::rfc3164), 6, kDate, "m", nohost) == "<134>Nov 22 04:05:06 skjold[19839]: m\n");
}

TEST_CASE("rfc5424: version 1, microsecond timestamp with offset, hostname, app, pid, no msgid or SD") {
    CHECK(frame(target(conf::LogFormat::rfc5424, 18), 6, kDate, "msg") ==
          "<150>1 2026-11-22T04:05:06.995903+00:00 vm skjold 19839 - - msg\n");
    auto nohost = ident();
    nohost.hostname.clear();
    CHECK(frame(target(conf::LogFormat::rfc5424), 6, kDate, "m", nohost) ==
          "<134>1 2026-11-22T04:05:06.995903+00:00 - skjold 19839 - - m\n");
}

TEST_CASE("rfc5424 prints the local UTC offset") {
    setenv("TZ", "CET-1", 1);
    tzset();
    // A second no earlier call used: the per-thread local-time cache converts it afresh.
    std::string got = frame(target(conf::LogFormat::rfc5424), 6, kDate + 3000000, "m");
    std::string local = frame(target(conf::LogFormat::local), 6, kDate + 4000000, "m");
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK(got == "<134>1 2026-11-22T05:05:09.995903+01:00 vm skjold 19839 - - m\n");
    CHECK(local == "<134>Nov 22 05:05:10 skjold[19839]: m\n");
}

TEST_CASE("raw is the message and a newline only") {
    CHECK(frame(target(conf::LogFormat::raw), 0, kDate, "just this") == "just this\n");
}

TEST_CASE("PRI is facility * 8 + level for every facility and level") {
    for (int fac = 0; fac < 24; ++fac)
        for (int lvl = 0; lvl < 8; ++lvl) {
            std::string f = frame(target(conf::LogFormat::local, fac), lvl, kDate, "x");
            CHECK(f.starts_with("<" + std::to_string(fac * 8 + lvl) + ">Nov"));
        }
}

TEST_CASE("len cuts header and message together to N bytes, then the newline (N+1 bytes sent)") {
    auto t = target(conf::LogFormat::rfc3164, 17);
    t.maxlen = 100;
    std::string msg(300, 'a');
    std::string f = frame(t, 6, kDate, msg);
    CHECK(f.size() == 101);
    CHECK(f.starts_with("<142>Nov 22 04:05:06 vm skjold[19839]: aaaa"));
    CHECK(f.ends_with("a\n"));
    t.format = conf::LogFormat::raw;
    t.maxlen = 80;
    CHECK(frame(t, 6, kDate, msg) == std::string(80, 'a') + "\n");
    CHECK(frame(t, 6, kDate, "short") == "short\n");   // shorter lines are untouched
    // The caller's buffer bounds it as well.
    char small[10];
    CHECK(p::frame_log_line(t, 6, kDate, msg, ident(), small, sizeof small) == 10);
    CHECK(std::string(small, 10) == "aaaaaaaaa\n");
}

TEST_CASE("level filters: above `level` is not sent, more severe than `minlevel` is raised to it") {
    conf::LogTarget t;
    t.level = 5;       // notice
    t.minlevel = 3;    // err
    CHECK(p::target_level(t, 6) == -1);   // info: filtered
    CHECK(p::target_level(t, 5) == 5);
    CHECK(p::target_level(t, 3) == 3);
    CHECK(p::target_level(t, 0) == 3);    // emerg sent as err
    CHECK(p::target_level(conf::LogTarget{}, 7) == 7);   // default: everything
}

TEST_CASE("the sink sends to a UDP target and a unix datagram target, filtered by level") {
    skjold::test::TempFile dir("", "unused");
    Receiver udp;
    Receiver ux(dir.dir + "/log.sock");
    auto tu = target(conf::LogFormat::local);
    tu.kind = conf::LogTarget::Kind::udp;
    tu.addr = udp.addr;
    auto tx = target(conf::LogFormat::rfc5424, 19);
    tx.kind = conf::LogTarget::Kind::unix_dgram;
    tx.addr = ux.addr;
    tx.level = 4;   // warning and more severe only
    p::LogSink sink(ident());
    CHECK(sink.send(tu, 6, kDate, "to udp"));
    CHECK(sink.send(tx, 4, kDate, "to unix"));
    CHECK_FALSE(sink.send(tx, 6, kDate, "filtered"));
    CHECK(udp.next() == "<134>Nov 22 04:05:06 skjold[19839]: to udp\n");
    CHECK(ux.next() == "<156>1 2026-11-22T04:05:06.995903+00:00 vm skjold 19839 - - to unix\n");
    CHECK(ux.quiet());
    CHECK(sink.sent() == 2);
    CHECK(sink.dropped() == 0);
}

TEST_CASE("a target that cannot take a message drops and counts it instead of waiting") {
    skjold::test::TempFile dir("", "unused");
    auto t = target(conf::LogFormat::raw);
    t.kind = conf::LogTarget::Kind::unix_dgram;
    p::LogSink sink(ident());
    SUBCASE("nobody listens at the path") {
        t.addr = *core::parse_sock_addr(dir.dir + "/absent.sock");
        CHECK_FALSE(sink.send(t, 6, kDate, "lost"));
        CHECK(sink.dropped() == 1);
    }
    SUBCASE("the receiver never reads: its queue fills, later messages are dropped") {
        Receiver ux(dir.dir + "/full.sock");
        t.addr = ux.addr;
        std::string msg(1000, 'x');
        int sent = 0;
        for (int i = 0; i < 5000 && sink.dropped() == 0; ++i)
            if (sink.send(t, 6, kDate, msg)) ++sent;
        CHECK(sink.dropped() >= 1);
        CHECK(sent > 0);
    }
}

TEST_CASE("the drain sends every worker's records to their proxy's targets, process lines to global ones") {
    Receiver global_rx, fe_rx;
    auto snap = std::make_shared<conf::Snapshot>();
    conf::LogTarget g = target(conf::LogFormat::raw);
    g.kind = conf::LogTarget::Kind::udp;
    g.addr = global_rx.addr;
    snap->global.logs.push_back(g);
    conf::Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    fe.option_tcplog = true;
    conf::LogTarget ft = g;
    ft.addr = fe_rx.addr;
    fe.logs.push_back(ft);
    snap->proxies.push_back(fe);
    conf::Proxy quiet;
    quiet.name = "quiet";
    snap->proxies.push_back(quiet);

    auto r0 = p::make_log_ring(*snap);
    auto r1 = p::make_log_ring(*snap);
    CHECK(r0->text_capacity() >= 1024);
    r0->push(0, 6, kDate, "from worker 0");
    r1->push(0, 6, kDate, "from worker 1");
    r1->push(1, 6, kDate, "proxy without targets");
    r1->push(9, 6, kDate, "no such proxy");
    p::LogDrain drain(snap, {r0.get(), r1.get()}, ident());
    CHECK(drain.active());
    CHECK(drain.drain() == 4);
    CHECK(fe_rx.next() == "from worker 0\n");
    CHECK(fe_rx.next() == "from worker 1\n");
    CHECK(fe_rx.quiet());
    CHECK(global_rx.quiet());

    drain.process_log(5, "process line");
    CHECK(global_rx.next() == "process line\n");
    drain.log_proxies_started();
    CHECK(fe_rx.next() == "Proxy fe started.\n");
    drain.log_proxies_stopped({12, 0}, {0, 0});
    CHECK(fe_rx.next() == "Proxy fe stopped (cumulated conns: FE: 12, BE: 0).\n");
    CHECK(global_rx.quiet());   // the proxy has no `log global`

    // A full ring's drops are part of DroppedLogs.
    for (std::size_t i = 0; i <= r0->capacity(); ++i) r0->push(0, 6, kDate, "x");
    CHECK(drain.dropped() == 1);
}

TEST_CASE("a snapshot that logs nothing gets a token ring and an inactive drain") {
    auto snap = std::make_shared<conf::Snapshot>();
    snap->proxies.push_back(conf::Proxy{});
    auto r = p::make_log_ring(*snap);
    CHECK(r->capacity() * r->text_capacity() <= 1024);
    p::LogDrain drain(snap, {r.get()}, ident());
    CHECK_FALSE(drain.active());
}
