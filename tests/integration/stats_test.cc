// The stats socket against the real binary (tcp mode): every command and its level, `show stat`
// read by header name and by position, counters that add up, admin commands that move traffic,
// interactive mode, the idle timeout and the socket file's permissions.
#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <thread>

#include "harness.hh"
#include "stats_client.hh"

namespace t = skjold::test;
using t::stats_command;
using t::who_answers;
using namespace std::chrono_literals;

namespace {

// Three sockets, one per level, and a backend of two answer servers (no checks: the traffic
// tests must not depend on check timing).
std::string config(const t::Tempdir& dir, const t::TcpAnswerServer& a, const t::TcpAnswerServer& b,
                   std::string_view extra_global = "", std::string_view server_opts = "") {
    return t::fill("global\n"
                   "    nbthread 1\n"
                   "    stats socket ${DIR}/admin.sock level admin\n"
                   "    stats socket ${DIR}/oper.sock level operator\n"
                   "    stats socket ${DIR}/user.sock level user\n"
                   "${EXTRA}",
                   {{"DIR", dir.path().string()}, {"EXTRA", std::string(extra_global)}}) +
           std::string(t::kTcpDefaults) +
           t::fill("frontend fe\n"
                   "    bind 127.0.0.1:0\n"
                   "    default_backend be\n"
                   "backend be\n"
                   "    balance roundrobin\n"
                   "    server alpha ${A}${OPTS}\n"
                   "    server beta ${B}${OPTS}\n",
                   {{"A", a.address().to_string()}, {"B", b.address().to_string()}, {"OPTS", std::string(server_opts)}});
}

// Who answers `n` connections in a row, as "alpha" / "beta" counts.
std::map<std::string, int> spread(const t::Address& at, int n) {
    std::map<std::string, int> m;
    for (int i = 0; i < n; ++i) ++m[who_answers(at)];
    return m;
}

std::string status_of(const std::filesystem::path& sock, std::string_view server) {
    return t::parse_stat(stats_command(sock, "show stat")).get("be", server, "status");
}

}  // namespace

TEST_SUITE_BEGIN("stats");

TEST_CASE("every stats command answers on an admin socket; user and operator sockets are refused what they may not do") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    auto admin = dir / "admin.sock", oper = dir / "oper.sock", user = dir / "user.sock";

    auto info = t::parse_info(stats_command(user, "show info"));
    CHECK(info["Name"] == "skjold");
    CHECK(info["Pid"] == std::to_string(lb.pid()));
    CHECK(info["Nbthread"] == "1");
    CHECK(stats_command(user, "show stat").rfind("# pxname,svname,qcur,qmax,scur,smax,slim,stot,", 0) == 0);
    CHECK(stats_command(user, "show servers state").rfind("1\n# be_id be_name srv_id srv_name srv_addr ", 0) == 0);
    CHECK(stats_command(user, "show backend") == "# name\nbe\n\n");
    CHECK(stats_command(user, "get weight be/alpha") == "1 (initial 1)\n\n");
    CHECK(stats_command(user, "get weight be/nope") == "No such server.\n\n");
    CHECK(stats_command(user, "get weight nope/alpha") == "No such backend.\n\n");
    CHECK(stats_command(user, "help").rfind("The following commands are valid at this level:\n", 0) == 0);
    CHECK(stats_command(user, "bogus").rfind("Unknown command", 0) == 0);
    CHECK(stats_command(admin, "show cli level") == "admin\n\n");
    CHECK(stats_command(oper, "show cli level") == "operator\n\n");
    CHECK(stats_command(user, "show cli level") == "user\n\n");

    const char* admin_only[] = {"set weight be/alpha 2", "set server be/alpha weight 1",
                                "set server be/alpha state drain", "set server be/alpha state ready",
                                "set server be/alpha health down", "set server be/alpha health up",
                                "disable server be/alpha", "enable server be/alpha",
                                "clear counters all"};
    for (const char* cmd : admin_only) {
        CHECK_MESSAGE(stats_command(user, cmd) == "Permission denied\n\n", cmd);
        CHECK_MESSAGE(stats_command(oper, cmd) == "Permission denied\n\n", cmd);
        CHECK_MESSAGE(stats_command(admin, cmd) == "\n", cmd);
    }
    CHECK(stats_command(user, "clear counters") == "Permission denied\n\n");
    CHECK(stats_command(oper, "clear counters") == "\n");
    CHECK(stats_command(user, "set weight be/alpha 5") == "Permission denied\n\n");
    CHECK(stats_command(user, "get weight be/alpha") == "1 (initial 1)\n\n");   // the refused commands changed nothing
    CHECK(stats_command(admin, "enable health be/alpha") == "Health check was not configured on this server, cannot enable.\n\n");
    CHECK(stats_command(admin, "disable health be/alpha") == "\n");   // as HAProxy: nothing to stop, no error
    CHECK(lb.stop() == 0);
}

TEST_CASE("show stat read by header name and by position agrees, and 10 connections add up to stot 10") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    for (int i = 0; i < 10; ++i) REQUIRE(who_answers(lb.listener("fe")) != "");
    auto table = t::parse_stat(stats_command(dir / "user.sock", "show stat"));
    REQUIRE(table.names.size() > 100);
    CHECK(table.column("status") == 17);
    CHECK(table.column("type") == 32);
    CHECK(table.column("stot") == 7);
    CHECK(table.names[99] == "uweight");
    CHECK(table.names[103] == "-");
    REQUIRE(table.rows.size() == 4);
    int stot_sum = 0;
    for (const auto& r : table.rows) {
        CHECK(r.size() == table.names.size());
        std::string type = r[32];
        CHECK(r[17] == table.get(r[0], r[1], "status"));
        if (r[1] == "FRONTEND") CHECK(type == "0");
        else if (r[1] == "BACKEND") CHECK(type == "1");
        else {
            CHECK(type == "2");
            CHECK(r[17] == "no check");
            stot_sum += std::stoi(r[7]);
        }
    }
    CHECK(stot_sum == 10);
    CHECK(table.get("fe", "FRONTEND", "stot") == "10");
    CHECK(table.get("fe", "FRONTEND", "status") == "OPEN");
    CHECK(table.get("be", "BACKEND", "stot") == "10");
    CHECK(table.get("be", "alpha", "stot") == "5");   // one worker, round robin
    CHECK(table.get("be", "BACKEND", "status") == "UP");
    CHECK(a.accepted() + b.accepted() == 10);

    CHECK(stats_command(dir / "admin.sock", "clear counters all") == "\n");
    table = t::parse_stat(stats_command(dir / "user.sock", "show stat"));
    CHECK(table.get("be", "alpha", "stot") == "0");
    CHECK(table.get("fe", "FRONTEND", "stot") == "0");
    CHECK(lb.stop() == 0);
}

TEST_CASE("disable, drain and maint take a server out of the rotation; enable and ready bring it back") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    auto fe = lb.listener("fe");
    auto admin = dir / "admin.sock";
    using Spread = std::map<std::string, int>;
    CHECK(spread(fe, 4) == Spread{{"alpha", 2}, {"beta", 2}});

    CHECK(stats_command(admin, "disable server be/alpha") == "\n");
    CHECK(status_of(admin, "alpha") == "MAINT");
    CHECK(spread(fe, 4) == Spread{{"beta", 4}});
    CHECK(stats_command(admin, "enable server be/alpha") == "\n");
    CHECK(status_of(admin, "alpha") == "no check");
    CHECK(spread(fe, 4) == Spread{{"alpha", 2}, {"beta", 2}});

    CHECK(stats_command(admin, "set server be/beta state drain") == "\n");
    CHECK(status_of(admin, "beta") == "DRAIN");
    CHECK(spread(fe, 4) == Spread{{"alpha", 4}});
    CHECK(stats_command(admin, "set server be/beta state maint") == "\n");
    CHECK(spread(fe, 4) == Spread{{"alpha", 4}});
    CHECK(stats_command(admin, "set server be/beta state ready") == "\n");
    CHECK(spread(fe, 4) == Spread{{"alpha", 2}, {"beta", 2}});

    CHECK(stats_command(admin, "set server be/alpha health down") == "\n");
    CHECK(status_of(admin, "alpha") == "DOWN");
    CHECK(spread(fe, 4) == Spread{{"beta", 4}});
    auto state = stats_command(admin, "show servers state be");
    CHECK(state.find("\n2 be 1 alpha 127.0.0.1 0 0 1 1 ") != std::string::npos);   // op_state 0: stopped
    CHECK(stats_command(admin, "set server be/alpha health up") == "\n");
    CHECK(spread(fe, 4) == Spread{{"alpha", 2}, {"beta", 2}});
    CHECK(lb.stop() == 0);
}

TEST_CASE("set weight changes how connections are spread") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    auto fe = lb.listener("fe");
    auto admin = dir / "admin.sock";
    CHECK(stats_command(admin, "set weight be/alpha 3") == "\n");
    CHECK(stats_command(admin, "get weight be/alpha") == "3 (initial 1)\n\n");
    auto s = spread(fe, 40);
    CHECK(s["alpha"] == 30);   // one worker: smooth weighted round robin is exact
    CHECK(s["beta"] == 10);
    CHECK(stats_command(admin, "set server be/beta weight 0") == "\n");
    CHECK(spread(fe, 6) == std::map<std::string, int>{{"alpha", 6}});
    CHECK(stats_command(admin, "set weight be/beta 100%") == "\n");
    CHECK(stats_command(admin, "get weight be/beta") == "1 (initial 1)\n\n");
    CHECK(stats_command(admin, "set weight be/beta 300") == "Absolute weight can only be between 0 and 256 inclusive.\n\n");
    CHECK(lb.stop() == 0);
}

TEST_CASE("prompt mode keeps the connection, answers ';'-separated commands with a prompt each, and quit closes") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    t::StatsConnection c(dir / "admin.sock");
    REQUIRE(c.connected());
    REQUIRE(c.send_line("prompt"));
    CHECK(c.read_until("> ") == "\n> ");
    REQUIRE(c.send_line("show cli level;get weight be/alpha"));
    CHECK(c.read_until("> 1 (initial 1)\n\n> ") == "admin\n\n> 1 (initial 1)\n\n> ");
    REQUIRE(c.send_line("show backend"));
    CHECK(c.read_until("\n\n> ") == "# name\nbe\n\n> ");
    CHECK_FALSE(c.eof());
    REQUIRE(c.send_line("quit"));
    CHECK(c.wait_closed(2s));

    // Non-interactive: every line already sent is answered, then the connection closes.
    CHECK(stats_command(dir / "user.sock", "show cli level\nshow backend") == "user\n\n# name\nbe\n\n");
    CHECK(lb.stop() == 0);
}

TEST_CASE("stats timeout closes an idle session; set timeout cli extends it") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto lb = t::start_with_config(dir, config(dir, a, b, "    stats timeout 1s\n"));
    {
        t::StatsConnection c(dir / "user.sock");
        REQUIRE(c.send_line("prompt"));
        CHECK(c.read_until("> ") == "\n> ");
        auto t0 = std::chrono::steady_clock::now();
        CHECK(c.wait_closed(5s));
        auto idle = std::chrono::steady_clock::now() - t0;
        CHECK(idle >= 800ms);
        CHECK(idle < 4s);
    }
    {
        t::StatsConnection c(dir / "user.sock");
        REQUIRE(c.send_line("prompt"));
        CHECK(c.read_until("> ") == "\n> ");
        REQUIRE(c.send_line("set timeout cli 3"));
        CHECK(c.read_until("> ") == "\n> ");
        auto t0 = std::chrono::steady_clock::now();
        CHECK_FALSE(c.wait_closed(2s));   // still open after the configured 1 s
        CHECK(c.wait_closed(5s));
        CHECK(std::chrono::steady_clock::now() - t0 >= 2800ms);
    }
    CHECK(lb.stop() == 0);
}

TEST_CASE("the socket file gets the configured mode, user and group, and is removed at stop") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    passwd* nobody = getpwnam("nobody");
    group* nogroup = getgrnam("nogroup");
    if (nobody == nullptr || nogroup == nullptr) {
        MESSAGE("no nobody/nogroup on this machine: owner not checked");
    }
    std::string extra = t::fill("    stats socket ${DIR}/owned.sock mode 640 level user${OWNER}\n",
                                {{"DIR", dir.path().string()},
                                 {"OWNER", nobody && nogroup ? std::string(" user nobody group nogroup") : std::string()}});
    auto lb = t::start_with_config(dir, config(dir, a, b, extra));
    struct stat st{};
    REQUIRE(stat((dir / "owned.sock").c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0640);
    if (nobody && nogroup) {
        CHECK(st.st_uid == nobody->pw_uid);
        CHECK(st.st_gid == nogroup->gr_gid);
    }
    REQUIRE(stat((dir / "admin.sock").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);   // HAProxy's default mode
    CHECK(stats_command(dir / "owned.sock", "show cli level") == "user\n\n");
    CHECK(lb.stop() == 0);
    CHECK_FALSE(std::filesystem::exists(dir / "owned.sock"));
    CHECK_FALSE(std::filesystem::exists(dir / "admin.sock"));
}

TEST_CASE("health check results show in show stat and show servers state") {
    t::Tempdir dir;
    t::TcpAnswerServer a("alpha"), b("beta");
    auto dead = t::dead_address();
    auto lb = t::start_with_config(
        dir, t::fill("global\n"
                     "    stats socket ${DIR}/admin.sock level admin\n",
                     {{"DIR", dir.path().string()}}) +
                 std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    default_backend be\n"
                         "backend be\n"
                         "    server alpha ${A} check inter 100ms rise 2 fall 3\n"
                         "    server dead ${DEAD} check inter 100ms rise 2 fall 3\n",
                         {{"A", a.address().to_string()}, {"DEAD", dead.to_string()}}));
    auto sock = dir / "admin.sock";
    t::StatTable table;
    for (int i = 0; i < 60; ++i) {   // bounded: 3 s
        table = t::parse_stat(stats_command(sock, "show stat"));
        if (table.get("be", "dead", "status") == "DOWN" && table.get("be", "alpha", "check_status") == "L4OK") break;
        std::this_thread::sleep_for(50ms);
    }
    CHECK(table.get("be", "dead", "status") == "DOWN");
    CHECK(table.get("be", "dead", "check_status") == "L4CON");
    CHECK(table.get("be", "dead", "last_chk") == "Connection refused");
    CHECK(table.get("be", "dead", "check_desc") == "Layer4 connection problem");
    CHECK(table.get("be", "dead", "chkdown") == "1");
    CHECK(table.get("be", "alpha", "status") == "UP");
    CHECK(table.get("be", "alpha", "check_status") == "L4OK");
    CHECK(table.get("be", "alpha", "check_health") == "4");
    CHECK(table.get("be", "BACKEND", "act") == "1");
    auto state = stats_command(sock, "show servers state");
    CHECK(state.find(" 2 dead 127.0.0.1 0 0 1 1 ") != std::string::npos);   // stopped, ready, weights 1/1
    CHECK(state.find(" 8 2 0 6 ") != std::string::npos);                    // L4CON, failed, health 0, checks on
    CHECK(stats_command(sock, "disable health be/dead") == "\n");
    CHECK(t::parse_stat(stats_command(sock, "show stat")).get("be", "dead", "check_status") == "");
    CHECK(lb.stop() == 0);
}
