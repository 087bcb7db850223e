#include "proxy/balancer.hh"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

using namespace skjold;
using conf::Balance;
using health::Admin;
using health::BackendState;
using proxy::Balancer;

namespace {

struct Srv {
    std::string name;
    int weight = 1;
    bool backup = false;
    int maxconn = 0;
};

// Snapshots are built by hand: the tests must not depend on the parser.
conf::Proxy make_backend(Balance algo, const std::vector<Srv>& servers, bool allbackups = false) {
    conf::Proxy p;
    p.name = "be";
    p.is_backend = true;
    p.balance = algo;
    p.option_allbackups = allbackups;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        conf::Server s;
        s.name = servers[i].name;
        s.id = static_cast<std::uint32_t>(i);
        s.opt.check = true;
        s.opt.weight = servers[i].weight;
        s.opt.backup = servers[i].backup;
        s.opt.maxconn = servers[i].maxconn;
        p.servers.push_back(s);
    }
    return p;
}

geo::IpAddr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    geo::IpAddr ip;
    ip.b[10] = 0xff;
    ip.b[11] = 0xff;
    ip.b[12] = a;
    ip.b[13] = b;
    ip.b[14] = c;
    ip.b[15] = d;
    return ip;
}

geo::IpAddr v6(std::uint16_t last) {
    geo::IpAddr ip;
    ip.b[0] = 0x20;
    ip.b[1] = 0x01;
    ip.b[2] = 0x0d;
    ip.b[3] = 0xb8;
    ip.b[14] = static_cast<std::uint8_t>(last >> 8);
    ip.b[15] = static_cast<std::uint8_t>(last);
    return ip;
}

const geo::IpAddr kClient = v4(192, 0, 2, 1);

constexpr std::array kAllAlgorithms = {Balance::roundrobin, Balance::static_rr, Balance::leastconn,
                                       Balance::source,     Balance::first,     Balance::random};

// Counts picks per server; with `connect`, each pick also opens a connection (never released).
std::vector<int> count_picks(Balancer& b, int n, int nservers, bool connect = false,
                             const geo::IpAddr& client = kClient) {
    std::vector<int> counts(static_cast<std::size_t>(nservers), 0);
    for (int i = 0; i < n; ++i) {
        const int s = b.pick(client);
        REQUIRE(s >= 0);
        REQUIRE(s < nservers);
        ++counts[static_cast<std::size_t>(s)];
        if (connect) b.on_connect(s);
    }
    return counts;
}

}  // namespace

TEST_CASE("smooth weighted round-robin honours 1:3 weights over 1000 picks on every worker") {
    const auto px = make_backend(Balance::roundrobin, {{"a", 1}, {"b", 3}});
    BackendState st(px);
    for (unsigned w = 0; w < 4; ++w) {
        Balancer b(px, st, w, 4);
        const auto c = count_picks(b, 1000, 2);
        CHECK(c[0] == 250);
        CHECK(c[1] == 750);
    }
}

TEST_CASE("static-rr honours 1:3 weights over 1000 picks on every worker") {
    const auto px = make_backend(Balance::static_rr, {{"a", 1}, {"b", 3}});
    BackendState st(px);
    for (unsigned w = 0; w < 3; ++w) {
        Balancer b(px, st, w, 3);
        const auto c = count_picks(b, 1000, 2);
        CHECK(c[0] == 250);
        CHECK(c[1] == 750);
    }
}

TEST_CASE("round-robin never picks a server twice in a row when weights are equal") {
    for (auto algo : {Balance::roundrobin, Balance::static_rr}) {
        const auto px = make_backend(algo, {{"a"}, {"b"}, {"c"}});
        BackendState st(px);
        for (unsigned w = 0; w < 3; ++w) {
            Balancer b(px, st, w, 3);
            int prev = -1;
            std::array<int, 3> counts{};
            for (int i = 0; i < 300; ++i) {
                const int s = b.pick(kClient);
                REQUIRE(s >= 0);
                CHECK(s != prev);
                prev = s;
                ++counts[static_cast<std::size_t>(s)];
            }
            CHECK(counts == std::array{100, 100, 100});
        }
    }
}

TEST_CASE("smooth round-robin interleaves a heavy server instead of sending it a burst") {
    // Weights 5:1:1. Plain weighted round-robin sends a a a a a b c; the smooth order is
    // a a b a c a a, so the heavy server never gets its whole share in one run.
    const auto px = make_backend(Balance::roundrobin, {{"a", 5}, {"b", 1}, {"c", 1}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    std::vector<int> seq;
    for (int i = 0; i < 7; ++i) seq.push_back(b.pick(kClient));
    CHECK(seq == std::vector<int>{0, 0, 1, 0, 2, 0, 0});
    int prev = -1, run = 0, longest = 0;
    for (int i = 0; i < 700; ++i) {
        const int s = b.pick(kClient);
        run = s == prev ? run + 1 : 1;
        longest = std::max(longest, run);
        prev = s;
    }
    CHECK(longest < 5);
}

TEST_CASE("workers start round-robin at different servers") {
    const auto px = make_backend(Balance::roundrobin, {{"a"}, {"b"}, {"c"}, {"d"}});
    BackendState st(px);
    std::vector<int> first;
    for (unsigned w = 0; w < 4; ++w) {
        Balancer b(px, st, w, 4);
        first.push_back(b.pick(kClient));
    }
    CHECK(first == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("a weight change takes effect at the next rebuild") {
    const auto px = make_backend(Balance::roundrobin, {{"a"}, {"b"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    CHECK(count_picks(b, 100, 2) == std::vector<int>{50, 50});
    st.set_weight(0, 3);
    CHECK(count_picks(b, 1000, 2) == std::vector<int>{750, 250});
}

TEST_CASE("leastconn prefers the least loaded server") {
    const auto px = make_backend(Balance::leastconn, {{"a"}, {"b"}, {"c"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    b.on_connect(0);
    b.on_connect(0);
    b.on_connect(1);
    CHECK(b.pick(kClient) == 2);
    b.on_connect(2);
    b.on_connect(2);
    CHECK(b.pick(kClient) == 1);
    b.on_release(0);
    b.on_release(0);
    CHECK(b.pick(kClient) == 0);
    CHECK(b.active(0) == 0);
    CHECK(b.active(2) == 2);
}

TEST_CASE("leastconn spreads connections in proportion to the weights") {
    const auto px = make_backend(Balance::leastconn, {{"a", 1}, {"b", 3}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    const auto c = count_picks(b, 400, 2, /*connect=*/true);
    CHECK(c[0] >= 99);
    CHECK(c[0] <= 101);
    CHECK(b.active(0) + b.active(1) == 400);
}

TEST_CASE("leastconn breaks ties round-robin") {
    const auto px = make_backend(Balance::leastconn, {{"a"}, {"b"}, {"c"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    std::vector<int> seq;
    for (int i = 0; i < 6; ++i) seq.push_back(b.pick(kClient));   // all idle: all tied
    CHECK(seq == std::vector<int>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("source sends an address to the same server on every pick and on every worker") {
    const auto px = make_backend(Balance::source, {{"a"}, {"b"}, {"c"}, {"d", 2}});
    BackendState st(px);
    Balancer w0(px, st, 0, 4), w3(px, st, 3, 4);
    for (std::uint8_t last = 0; last < 50; ++last) {
        const auto ip = v4(84, 208, 0, last);
        const int s = w0.pick(ip);
        REQUIRE(s >= 0);
        for (int i = 0; i < 20; ++i) {
            CHECK(w0.pick(ip) == s);
            CHECK(w0.pick(v4(10, 0, 0, static_cast<std::uint8_t>(i))) >= 0);   // other traffic between
        }
        CHECK(w3.pick(ip) == s);
    }
}

TEST_CASE("source spreads different addresses in proportion to the weights") {
    const auto px = make_backend(Balance::source, {{"a"}, {"b"}, {"c"}, {"d"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    std::array<int, 4> c4{};
    for (int i = 0; i < 1000; ++i)
        ++c4[static_cast<std::size_t>(b.pick(v4(10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i))))];
    CHECK(c4 == std::array{250, 250, 250, 250});

    std::array<int, 4> c6{};
    for (int i = 0; i < 1000; ++i) ++c6[static_cast<std::size_t>(b.pick(v6(static_cast<std::uint16_t>(i))))];
    for (int n : c6) CHECK(n == 250);

    const auto pw = make_backend(Balance::source, {{"a", 1}, {"b", 3}});
    BackendState sw(pw);
    Balancer bw(pw, sw, 0, 1);
    std::array<int, 2> cw{};
    for (int i = 0; i < 1000; ++i)
        ++cw[static_cast<std::size_t>(bw.pick(v4(10, 2, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i))))];
    CHECK(cw == std::array{250, 750});
}

TEST_CASE("source gives the same server again once the same servers are back") {
    const auto px = make_backend(Balance::source, {{"a"}, {"b"}, {"c"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    std::vector<int> before;
    for (std::uint8_t i = 0; i < 30; ++i) before.push_back(b.pick(v4(198, 51, 100, i)));
    st.set_health_down(1);
    for (std::uint8_t i = 0; i < 30; ++i) CHECK(b.pick(v4(198, 51, 100, i)) != 1);
    st.set_health_up(1);
    for (std::uint8_t i = 0; i < 30; ++i) CHECK(b.pick(v4(198, 51, 100, i)) == before[i]);
}

TEST_CASE("first fills servers in declaration order up to their maxconn") {
    const auto px = make_backend(Balance::first, {{"a", 1, false, 2}, {"b", 5, false, 2}, {"c", 1, false, 1}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    std::vector<int> seq;
    for (int i = 0; i < 5; ++i) {
        const int s = b.pick(kClient);
        seq.push_back(s);
        b.on_connect(s);
    }
    CHECK(seq == std::vector<int>{0, 0, 1, 1, 2});
    CHECK(b.full(2));
    CHECK(b.pick(kClient) == -1);   // every server full: no queue, the caller refuses
    b.on_release(1);
    CHECK(b.pick(kClient) == 1);
    b.on_release(0);
    CHECK(b.pick(kClient) == 0);
}

TEST_CASE("first without maxconn always picks the first usable server") {
    const auto px = make_backend(Balance::first, {{"a"}, {"b"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    const auto c = count_picks(b, 100, 2, /*connect=*/true);
    CHECK(c == std::vector<int>{100, 0});
    st.set_health_down(0);
    CHECK(b.pick(kClient) == 1);
}

TEST_CASE("a server's maxconn is split between workers, at least one each") {
    const auto px = make_backend(Balance::roundrobin, {{"a", 1, false, 5}, {"b", 1, false, 1}, {"c"}});
    BackendState st(px);
    Balancer w0(px, st, 0, 2), w1(px, st, 1, 2);
    CHECK(w0.maxconn_share(0) == 3);
    CHECK(w1.maxconn_share(0) == 2);
    CHECK(w0.maxconn_share(1) == 1);
    CHECK(w1.maxconn_share(1) == 1);
    CHECK(w0.maxconn_share(2) == 0);
    w1.on_connect(0);
    CHECK_FALSE(w1.full(0));
    w1.on_connect(0);
    CHECK(w1.full(0));
    CHECK_FALSE(w0.full(0));   // the other worker's share is untouched
    for (int i = 0; i < 20; ++i) CHECK(w1.pick(kClient) != 0);
}

TEST_CASE("random picks only usable servers") {
    const auto px = make_backend(Balance::random, {{"a"}, {"b"}, {"c"}, {"d"}, {"e"}});
    BackendState st(px);
    st.set_health_down(1);
    st.set_admin(3, Admin::maint);
    Balancer b(px, st, 0, 1);
    const auto c = count_picks(b, 1000, 5, /*connect=*/true);
    CHECK(c[1] == 0);
    CHECK(c[3] == 0);
    CHECK(c[0] > 0);
    CHECK(c[2] > 0);
    CHECK(c[4] > 0);
    CHECK(c[0] + c[2] + c[4] == 1000);
}

TEST_CASE("random with two choices favours the less loaded server") {
    const auto px = make_backend(Balance::random, {{"a"}, {"b"}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    for (int i = 0; i < 10; ++i) b.on_connect(0);
    // Server 0 wins only when both draws land on it (1 in 4).
    const auto c = count_picks(b, 1000, 2);
    CHECK(c[1] > 650);
    CHECK(c[0] > 150);

    // Opening every picked connection keeps the two servers within a few connections.
    Balancer fresh(px, st, 1, 2);
    const auto d = count_picks(fresh, 1000, 2, /*connect=*/true);
    CHECK(d[0] >= 490);
    CHECK(d[0] <= 510);
}

TEST_CASE("random draws in proportion to weight") {
    const auto px = make_backend(Balance::random, {{"a", 1}, {"b", 3}});
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    // Without load both draws count; the second wins ties, so the split follows the weights.
    const auto c = count_picks(b, 4000, 2);
    CHECK(c[1] > 2800);
    CHECK(c[1] < 3200);
}

TEST_CASE("a server marked down is never picked once the generation moves, by any algorithm") {
    for (auto algo : kAllAlgorithms) {
        CAPTURE(static_cast<int>(algo));
        const auto px = make_backend(algo, {{"a"}, {"b"}, {"c"}});
        BackendState st(px);
        Balancer b(px, st, 0, 1);
        CHECK_FALSE(b.refresh());
        CHECK(b.candidates() == 3);
        st.set_health_down(0);
        CHECK(b.refresh());
        CHECK(b.candidates() == 2);
        for (int i = 0; i < 300; ++i) {
            const int s = b.pick(v4(10, 0, 1, static_cast<std::uint8_t>(i)));
            CHECK(s != 0);
            CHECK(s >= 0);
            b.on_connect(s);
        }
    }
}

TEST_CASE("MAINT, DRAIN and weight 0 servers are never picked") {
    for (auto algo : kAllAlgorithms) {
        CAPTURE(static_cast<int>(algo));
        const auto px = make_backend(algo, {{"a"}, {"b"}, {"c"}, {"d"}});
        BackendState st(px);
        st.set_admin(0, Admin::maint);
        st.set_admin(1, Admin::drain);
        st.set_weight(2, 0);
        Balancer b(px, st, 0, 1);
        for (int i = 0; i < 100; ++i) CHECK(b.pick(v4(10, 0, 2, static_cast<std::uint8_t>(i))) == 3);
    }
}

TEST_CASE("backups get traffic only when no active server is usable, and only the first of them") {
    for (auto algo : kAllAlgorithms) {
        CAPTURE(static_cast<int>(algo));
        const auto px = make_backend(algo, {{"a"}, {"bk1", 1, true}, {"b"}, {"bk2", 1, true}});
        BackendState st(px);
        Balancer b(px, st, 0, 1);
        for (int i = 0; i < 50; ++i) {
            const int s = b.pick(v4(10, 0, 3, static_cast<std::uint8_t>(i)));
            CHECK((s == 0 || s == 2));
        }
        st.set_health_down(0);
        st.set_health_down(2);
        for (int i = 0; i < 50; ++i) CHECK(b.pick(v4(10, 0, 3, static_cast<std::uint8_t>(i))) == 1);
        st.set_admin(1, Admin::maint);
        for (int i = 0; i < 50; ++i) CHECK(b.pick(v4(10, 0, 3, static_cast<std::uint8_t>(i))) == 3);
        st.set_health_up(2);
        for (int i = 0; i < 50; ++i) CHECK(b.pick(v4(10, 0, 3, static_cast<std::uint8_t>(i))) == 2);
    }
}

TEST_CASE("with allbackups every usable backup shares the load") {
    const auto px = make_backend(Balance::roundrobin, {{"a"}, {"bk1", 1, true}, {"bk2", 3, true}},
                                 /*allbackups=*/true);
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    st.set_health_down(0);
    CHECK(count_picks(b, 1000, 3) == std::vector<int>{0, 250, 750});
}

TEST_CASE("a disabled backend or one without a usable server gives no server") {
    auto px = make_backend(Balance::roundrobin, {{"a"}});
    px.disabled = true;
    BackendState st(px);
    Balancer b(px, st, 0, 1);
    CHECK(b.pick(kClient) == -1);

    for (auto algo : kAllAlgorithms) {
        const auto p2 = make_backend(algo, {{"a"}, {"bk", 1, true}});
        BackendState s2(p2);
        Balancer b2(p2, s2, 0, 1);
        s2.set_health_down(0);
        s2.set_health_down(1);
        CHECK(b2.pick(kClient) == -1);
        CHECK(b2.pick(kClient, 0) == -1);
    }
}

TEST_CASE("avoid skips the failed server while another is usable, and returns it when it is the only one") {
    for (auto algo : kAllAlgorithms) {
        CAPTURE(static_cast<int>(algo));
        const auto px = make_backend(algo, {{"a"}, {"b"}});
        BackendState st(px);
        Balancer b(px, st, 0, 1);
        for (int i = 0; i < 20; ++i) {
            const auto ip = v4(10, 0, 4, static_cast<std::uint8_t>(i));
            CHECK(b.pick(ip, 0) == 1);
            CHECK(b.pick(ip, 1) == 0);
        }
        st.set_health_down(1);
        CHECK(b.pick(kClient, 0) == 0);
    }
}

TEST_CASE("every algorithm gives no server when all candidates are full") {
    for (auto algo : kAllAlgorithms) {
        CAPTURE(static_cast<int>(algo));
        const auto px = make_backend(algo, {{"a", 1, false, 1}, {"b", 1, false, 1}});
        BackendState st(px);
        Balancer b(px, st, 0, 1);
        const int s1 = b.pick(kClient);
        b.on_connect(s1);
        const int s2 = b.pick(kClient);
        b.on_connect(s2);
        CHECK(s1 != s2);
        CHECK(b.pick(kClient) == -1);
        b.on_release(s2);
        CHECK(b.pick(kClient) == s2);
    }
}

// slowstart (health issue): the balancers follow the ramping effective weight through the
// generation, and a stopping (NOLB) server gets nothing new.
namespace {

conf::Proxy with_slowstart(Balance algo, conf::Millis slowstart) {
    auto px = make_backend(algo, {{"a", 100}, {"b", 100}});
    for (auto& s : px.servers) s.opt.slowstart = slowstart;
    return px;
}

}  // namespace

TEST_CASE("roundrobin gives a slowstarting server its ramped share, rising with each step") {
    const auto px = with_slowstart(Balance::roundrobin, 10000);
    BackendState st(px);
    Balancer bal(px, st, 0, 1);
    st.set_health_down(0);
    st.set_health_up(0, 1000);          // back: weight 1 against 100
    auto share = [&] {
        int a = 0;
        for (int i = 0; i < 1010; ++i) a += bal.pick(v4(10, 0, 0, 1)) == 0 ? 1 : 0;
        return a;
    };
    CHECK(share() == 10);               // 1/101 of the picks
    st.ramp(0, 1000 + 5000);            // half-way: 50 against 100
    CHECK(bal.refresh());
    const int half = share();
    CHECK(half >= 330);
    CHECK(half <= 345);                 // 50/150 of 1010 = 336.7
    st.ramp(0, 1000 + 10000);           // done: even
    CHECK(share() == 505);
}

TEST_CASE("leastconn weighs a slowstarting server's load by its ramped weight") {
    const auto px = with_slowstart(Balance::leastconn, 10000);
    BackendState st(px);
    Balancer bal(px, st, 0, 1);
    st.set_health_down(1);
    st.set_health_up(1, 0);
    st.ramp(1, 1000);                   // b at 10 against a at 100
    // Open 110 connections without releasing any: the loads settle at the 100:10 weights.
    int b = 0;
    for (int i = 0; i < 110; ++i) {
        const int s = bal.pick(v4(10, 0, 0, 1));
        bal.on_connect(s);
        b += s == 1 ? 1 : 0;
    }
    CHECK(b >= 9);
    CHECK(b <= 12);
}

TEST_CASE("a stopping server and a server in MAINT get no new connections") {
    const auto px = make_backend(Balance::roundrobin, {{"a"}, {"b"}, {"c"}});
    BackendState st(px);
    Balancer bal(px, st, 0, 1);
    st.set_health_stopping(0);
    st.set_admin(2, Admin::maint);
    for (int i = 0; i < 20; ++i) CHECK(bal.pick(v4(10, 0, 0, 1)) == 1);
}

TEST_CASE("static-rr serves a server coming back at its full weight (no ramp for static algorithms)") {
    const auto px = with_slowstart(Balance::static_rr, 10000);
    BackendState st(px);
    Balancer bal(px, st, 0, 1);
    st.set_health_down(0);
    st.set_health_up(0, 0);
    int a = 0;
    for (int i = 0; i < 100; ++i) a += bal.pick(v4(10, 0, 0, 1)) == 0 ? 1 : 0;
    CHECK(a == 50);
}
