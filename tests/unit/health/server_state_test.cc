#include "health/server_state.hh"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace skjold;
using health::Admin;
using health::BackendState;
using health::Health;
using health::ServerStateTable;

namespace {

// Snapshots are built by hand: the tests must not depend on the parser.
conf::Server make_server(std::string name, bool check = true, bool backup = false, int weight = 1) {
    conf::Server s;
    s.name = std::move(name);
    s.opt.check = check;
    s.opt.backup = backup;
    s.opt.weight = weight;
    return s;
}

conf::Proxy make_backend(std::string name, std::vector<conf::Server> servers, bool allbackups = false) {
    conf::Proxy p;
    p.name = std::move(name);
    p.is_backend = true;
    p.option_allbackups = allbackups;
    for (std::size_t i = 0; i < servers.size(); ++i) servers[i].id = static_cast<std::uint32_t>(i);
    p.servers = std::move(servers);
    return p;
}

}  // namespace

TEST_CASE("a server with check starts UP with its health counter at rise") {
    auto px = make_backend("b", {make_server("s1")});
    px.servers[0].opt.rise = 4;
    px.servers[0].opt.fall = 5;
    BackendState b(px);
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).health_counter() == 4);
    CHECK(b.server(0).admin() == Admin::ready);
    CHECK(health::usable(b.server(0)));
    CHECK(health::srv_is_up(b, 0));
}

TEST_CASE("a disabled server starts in MAINT, stopped, and is neither usable nor up") {
    auto px = make_backend("b", {make_server("s1"), make_server("s2")});
    px.servers[1].opt.disabled = true;
    BackendState b(px);
    CHECK(b.server(1).admin() == Admin::maint);
    CHECK(b.server(1).health() == Health::down);
    CHECK(b.server(1).health_counter() == 0);
    CHECK_FALSE(health::usable(b.server(1)));
    CHECK_FALSE(health::srv_is_up(b, 1));
    CHECK(health::nbsrv(b) == 1);
}

TEST_CASE("MAINT, DRAIN, DOWN and weight 0 servers are not usable; a starting server is") {
    BackendState b(make_backend("b", {make_server("a"), make_server("b"), make_server("c"),
                                      make_server("d"), make_server("e")}));
    b.set_admin(0, Admin::maint);
    b.set_admin(1, Admin::drain);
    b.set_weight(2, 0);
    b.set_health_down(3);
    b.set_health(4, Health::starting, 2);
    CHECK_FALSE(health::usable(b.server(0)));
    CHECK_FALSE(health::usable(b.server(1)));
    CHECK_FALSE(health::usable(b.server(2)));
    CHECK_FALSE(health::usable(b.server(3)));
    CHECK(health::usable(b.server(4)));
    CHECK(b.usable_active() == 1);
    CHECK(health::nbsrv(b) == 1);
}

TEST_CASE("nbsrv of a disabled backend is 0 even with usable servers") {
    auto px = make_backend("b", {make_server("a"), make_server("bk", true, true)});
    px.disabled = true;
    BackendState b(px);
    CHECK(b.usable_active() == 1);
    CHECK(health::nbsrv(b) == 0);
}

TEST_CASE("nbsrv counts only usable non-backup servers when there is one") {
    BackendState b(make_backend("b", {make_server("a"), make_server("b"), make_server("c"),
                                      make_server("bk1", true, true), make_server("bk2", true, true)}));
    CHECK(health::nbsrv(b) == 3);
    b.set_health_down(0);
    CHECK(health::nbsrv(b) == 2);
    b.set_health_down(1);
    CHECK(health::nbsrv(b) == 1);
}

TEST_CASE("nbsrv is 1 when only backups are usable and allbackups is off") {
    BackendState b(make_backend("b", {make_server("a"), make_server("bk1", true, true),
                                      make_server("bk2", true, true), make_server("bk3", true, true)}));
    b.set_health_down(0);
    CHECK(b.usable_backup() == 3);
    CHECK(health::nbsrv(b) == 1);
}

TEST_CASE("nbsrv counts every usable backup when allbackups is on") {
    BackendState b(make_backend("b", {make_server("a"), make_server("bk1", true, true),
                                      make_server("bk2", true, true), make_server("bk3", true, true)},
                                /*allbackups=*/true));
    b.set_health_down(0);
    CHECK(health::nbsrv(b) == 3);
    b.set_admin(2, Admin::maint);
    CHECK(health::nbsrv(b) == 2);
}

TEST_CASE("nbsrv is 0 when neither active nor backup servers are usable") {
    BackendState b(make_backend("b", {make_server("a"), make_server("bk1", true, true)}));
    b.set_health_down(0);
    b.set_admin(1, Admin::drain);
    CHECK(health::nbsrv(b) == 0);
    BackendState empty(make_backend("e", {}));
    CHECK(health::nbsrv(empty) == 0);
}

TEST_CASE("srv_is_up follows HAProxy: MAINT or a failed check make it false, DRAIN and weight 0 do not") {
    BackendState b(make_backend("b", {make_server("a"), make_server("b"), make_server("c"),
                                      make_server("d"), make_server("nocheck", false)}));
    b.set_admin(0, Admin::drain);
    b.set_weight(1, 0);
    b.set_health_down(2);
    b.set_admin(3, Admin::maint);
    b.set_health_down(4);   // without `check` the operational state is not consulted
    CHECK(health::srv_is_up(b, 0));
    CHECK(health::srv_is_up(b, 1));
    CHECK_FALSE(health::srv_is_up(b, 2));
    CHECK_FALSE(health::srv_is_up(b, 3));
    CHECK(health::srv_is_up(b, 4));
    CHECK_FALSE(health::srv_is_up(b, 5));
    CHECK_FALSE(health::srv_is_up(b, -1));
}

TEST_CASE("every change a worker must see moves the generation, and nothing else does") {
    BackendState b(make_backend("b", {make_server("a"), make_server("b")}));
    auto g = b.generation();
    b.set_health_down(0);
    CHECK(b.generation() > g);
    g = b.generation();
    b.set_health_counter(0, 1);   // a check in transition: no worker cares
    CHECK(b.generation() == g);
    CHECK(b.server(0).health_counter() == 1);
    b.set_health_down(0);         // already down
    CHECK(b.generation() == g);
    b.set_admin(1, Admin::drain);
    CHECK(b.generation() > g);
    g = b.generation();
    b.set_admin(1, Admin::drain);
    CHECK(b.generation() == g);
    b.set_weight(1, 7);
    CHECK(b.generation() > g);
    g = b.generation();
    b.set_weight(1, 7);
    CHECK(b.generation() == g);
    b.set_health_up(0);
    CHECK(b.generation() > g);
}

TEST_CASE("a server coming back UP is fully up and the counter stays in 0..rise+fall-1") {
    BackendState b(make_backend("b", {make_server("a")}));   // rise 2 fall 3
    b.set_health_down(0);
    b.set_health_up(0);
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).health_counter() == 4);
    b.set_health_counter(0, 99);
    CHECK(b.server(0).health_counter() == 4);
    b.set_health_counter(0, -3);
    CHECK(b.server(0).health_counter() == 0);
}

TEST_CASE("leaving MAINT puts a server back UP with health at rise") {
    auto px = make_backend("b", {make_server("a")});
    px.servers[0].opt.disabled = true;
    px.servers[0].opt.rise = 3;
    BackendState b(px);
    b.set_admin(0, Admin::ready);
    CHECK(b.server(0).admin() == Admin::ready);
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).health_counter() == 3);
    CHECK(health::nbsrv(b) == 1);
}

TEST_CASE("weights are clamped to HAProxy's 0..256") {
    auto px = make_backend("b", {make_server("a", true, false, 1000)});
    BackendState b(px);
    CHECK(b.server(0).weight() == 256);
    b.set_weight(0, -5);
    CHECK(b.server(0).weight() == 0);
    CHECK(health::nbsrv(b) == 0);
}

TEST_CASE("the table holds a state for backends and listens only, found by name") {
    conf::Snapshot snap;
    conf::Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    snap.proxies.push_back(fe);
    snap.proxies.push_back(make_backend("be", {make_server("a")}));
    auto listen = make_backend("ls", {make_server("x"), make_server("y")});
    listen.is_frontend = true;
    snap.proxies.push_back(listen);
    ServerStateTable t(snap);
    CHECK(t.size() == 3);
    CHECK(t.backend(0) == nullptr);
    REQUIRE(t.backend(1) != nullptr);
    CHECK(t.backend(1)->name() == "be");
    CHECK(t.find_backend("ls") == t.backend(2));
    CHECK(t.find_backend("ls")->size() == 2);
    CHECK(t.find_backend("fe") == nullptr);
    CHECK(t.backend(7) == nullptr);
    CHECK(t.find_backend("ls")->find_server("y") == 1);
    CHECK(t.find_backend("ls")->find_server("z") == -1);
}

TEST_CASE("a reload keeps health, admin state and weight by backend and server name") {
    conf::Snapshot old_snap;
    old_snap.proxies.push_back(make_backend("primary", {make_server("web1"), make_server("web2"),
                                                       make_server("web3"), make_server("gone")}));
    ServerStateTable old_t(old_snap);
    BackendState& ob = *old_t.find_backend("primary");
    ob.set_health_down(0);                 // web1 failed its checks
    ob.set_admin(1, Admin::drain);         // web2 drained by the operator
    ob.set_weight(2, 9);                   // web3 re-weighted by the operator
    ob.set_admin(3, Admin::maint);

    // New file: another proxy first (indexes move), servers reordered, one removed, one added.
    conf::Snapshot new_snap;
    conf::Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    new_snap.proxies.push_back(fe);
    new_snap.proxies.push_back(make_backend("primary", {make_server("web3"), make_server("new"),
                                                       make_server("web2"), make_server("web1")}));
    ServerStateTable t(new_snap);
    const auto g = t.backend(1)->generation();
    t.carry_over(old_t);
    const BackendState& b = *t.backend(1);
    CHECK(b.generation() > g);
    CHECK(b.server(3).health() == Health::down);   // web1
    CHECK(b.server(3).health_counter() == 0);
    CHECK(b.server(2).admin() == Admin::drain);    // web2
    CHECK(b.server(0).weight() == 9);              // web3
    CHECK(b.server(1).health() == Health::up);     // new: start state
    CHECK(b.server(1).admin() == Admin::ready);
    CHECK(health::nbsrv(b) == 2);                  // web3 and new
}

TEST_CASE("a reload lets a changed configuration win over run-time admin state and weight") {
    conf::Snapshot old_snap;
    auto opx = make_backend("b", {make_server("a"), make_server("b"), make_server("c"), make_server("d")});
    opx.servers[2].opt.disabled = true;
    opx.servers[3].opt.disabled = true;
    old_snap.proxies.push_back(opx);
    ServerStateTable old_t(old_snap);
    BackendState& ob = *old_t.backend(0);
    ob.set_admin(0, Admin::maint);       // forced maint, config unchanged below: kept
    ob.set_weight(1, 50);                // config weight changes below: config wins
    ob.set_admin(2, Admin::ready);       // operator enabled a `disabled` server; config same: kept

    conf::Snapshot new_snap;
    auto npx = make_backend("b", {make_server("a"), make_server("b", true, false, 3), make_server("c"),
                                  make_server("d")});
    npx.servers[2].opt.disabled = true;
    npx.servers[3].opt.disabled = false;   // `disabled` removed from the file: ready now
    new_snap.proxies.push_back(npx);
    ServerStateTable t(new_snap);
    t.carry_over(old_t);
    const BackendState& b = *t.backend(0);
    CHECK(b.server(0).admin() == Admin::maint);
    CHECK(b.server(1).weight() == 3);
    CHECK(b.server(2).admin() == Admin::ready);
    CHECK(b.server(2).health() == Health::up);
    CHECK(b.server(3).admin() == Admin::ready);
    CHECK(b.server(3).health() == Health::up);
    CHECK(b.server(3).health_counter() == 2);
    CHECK(health::nbsrv(b) == 3);

    // The reverse: `disabled` added to the file puts a ready server in MAINT.
    conf::Snapshot third;
    auto tpx = make_backend("b", {make_server("a"), make_server("b", true, false, 3), make_server("c"),
                                  make_server("d")});
    tpx.servers[1].opt.disabled = true;
    third.proxies.push_back(tpx);
    ServerStateTable t3(third);
    t3.carry_over(t);
    CHECK(t3.backend(0)->server(1).admin() == Admin::maint);
    CHECK_FALSE(health::srv_is_up(*t3.backend(0), 1));
}

TEST_CASE("a reload keeps check results only where both versions are checked, clamped to the new rise/fall") {
    conf::Snapshot old_snap;
    old_snap.proxies.push_back(make_backend("b", {make_server("a"), make_server("b"), make_server("c")}));
    old_snap.proxies[0].servers[2].opt.rise = 5;
    old_snap.proxies[0].servers[2].opt.fall = 5;
    ServerStateTable old_t(old_snap);
    BackendState& ob = *old_t.backend(0);
    ob.set_health_down(0);
    ob.set_health_down(1);
    ob.set_health(2, Health::up, 9);   // fully up with rise 5 fall 5

    conf::Snapshot new_snap;
    new_snap.proxies.push_back(make_backend("b", {make_server("a", /*check=*/false), make_server("b"),
                                                  make_server("c")}));
    ServerStateTable t(new_snap);
    t.carry_over(old_t);
    const BackendState& b = *t.backend(0);
    CHECK(b.server(0).health() == Health::up);   // no `check` any more: always up
    CHECK(b.server(1).health() == Health::down);
    CHECK(b.server(2).health() == Health::up);
    CHECK(b.server(2).health_counter() == 4);    // rise 2 fall 3: top is 4
}

TEST_CASE("a reload ignores backends that no longer exist and keeps new backends at their start") {
    conf::Snapshot old_snap;
    old_snap.proxies.push_back(make_backend("old", {make_server("a")}));
    ServerStateTable old_t(old_snap);
    old_t.backend(0)->set_health_down(0);

    conf::Snapshot new_snap;
    new_snap.proxies.push_back(make_backend("renamed", {make_server("a")}));
    ServerStateTable t(new_snap);
    t.carry_over(old_t);
    CHECK(t.backend(0)->server(0).health() == Health::up);
    CHECK(health::nbsrv(*t.backend(0)) == 1);
}

TEST_CASE("a stopping (NOLB) server takes no new traffic but is still up for srv_is_up") {
    BackendState b(make_backend("b", {make_server("a"), make_server("bk", true, true)}));
    const auto g = b.generation();
    b.set_health_stopping(0);
    CHECK(b.generation() > g);
    CHECK(b.server(0).health() == Health::stopping);
    CHECK(b.server(0).health_counter() == 2);   // the counter is left alone
    CHECK_FALSE(health::usable(b.server(0)));
    CHECK(health::srv_is_up(b, 0));
    CHECK(health::nbsrv(b) == 1);               // only the backup is usable now
    CHECK(b.usable_active() == 0);
    CHECK(health::haproxy_op_state(Health::stopping) == 3);
    CHECK(health::haproxy_op_state(Health::down) == 0);
    CHECK(health::haproxy_op_state(Health::starting) == 1);
    CHECK(health::haproxy_op_state(Health::up) == 2);
}

TEST_CASE("entering MAINT stops the server and pauses its checks, as HAProxy's srv_update_status") {
    BackendState b(make_backend("b", {make_server("a")}));
    b.set_admin(0, Admin::maint);
    CHECK(b.server(0).health() == Health::down);
    CHECK(b.server(0).health_counter() == 0);
    CHECK(b.server(0).admin_flags() == health::kAdmfFmaint);
    CHECK(b.server(0).check_state_flags() == (health::kChkStConfigured | health::kChkStEnabled | health::kChkStPaused));
    b.set_admin(0, Admin::drain);   // leaving MAINT for DRAIN: up at rise, not usable
    CHECK(b.server(0).health() == Health::up);
    CHECK(b.server(0).admin_flags() == health::kAdmfFdrain);
    CHECK_FALSE(health::usable(b.server(0)));
}

TEST_CASE("admin flags keep CMAINT for a server disabled in the configuration, as show servers state does") {
    auto px = make_backend("b", {make_server("a", false), make_server("b", true)});
    px.servers[0].opt.disabled = true;
    BackendState b(px);
    CHECK(b.server(0).admin_flags() == (health::kAdmfFmaint | health::kAdmfCmaint));   // HAProxy prints 5
    b.set_admin(0, Admin::ready);
    CHECK(b.server(0).admin_flags() == health::kAdmfCmaint);                           // HAProxy prints 4
    CHECK(b.server(0).check_state_flags() == 0);                                       // no `check`
    CHECK(b.server(1).admin_flags() == 0);
    b.set_checks_enabled(1, false);
    CHECK_FALSE(b.server(1).checks_enabled());
    CHECK(b.server(1).check_state_flags() == health::kChkStConfigured);                // HAProxy prints 2
}

TEST_CASE("downtime adds up the periods spent DOWN or in MAINT, and last change follows every transition") {
    BackendState b(make_backend("b", {make_server("a")}));
    const std::uint64_t t0 = b.server(0).last_change_ms();
    CHECK(b.server(0).downtime_ms(t0 + 5000) == 0);
    b.set_health(0, Health::down, 0);
    const std::uint64_t down_at = b.server(0).last_change_ms();
    CHECK(down_at >= t0);
    CHECK(b.server(0).downtime_ms(down_at + 700) == 700);   // still DOWN: counted up to now
    b.set_health_up(0, down_at + 1000);
    CHECK(b.server(0).last_change_ms() == down_at + 1000);
    CHECK(b.server(0).downtime_ms(down_at + 9000) == 1000);   // back UP: the period is closed
    b.set_admin(0, Admin::maint, down_at + 2000);
    b.set_admin(0, Admin::ready, down_at + 2500);
    CHECK(b.server(0).downtime_ms(down_at + 9000) == 1500);
}
