// The stats socket's command language: line splitting, levels, answers and HAProxy's error texts.

#include <doctest/doctest.h>

#include "stats_fixture.hh"

namespace skjold::proxy {
namespace {

using test::StatsFixture;

constexpr std::string_view kConfig =
    "defaults\n"
    "    mode tcp\n"
    "    timeout connect 1s\n"
    "    timeout client 5s\n"
    "    timeout server 5s\n"
    "frontend fe\n"
    "    bind 127.0.0.1:0\n"
    "    default_backend be\n"
    "backend be\n"
    "    server s1 127.0.0.1:9001 check rise 2 fall 3\n"
    "    server s2 127.0.0.1:9002 weight 3\n"
    "    server bk 127.0.0.1:9003 backup\n"
    "backend other\n"
    "    server o1 [::1]:9004 disabled\n";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

TEST_CASE("a line splits into commands at ';' and into words at blanks, with backslash escapes") {
    auto c = split_commands("show info;show stat\t up ; get weight a\\;b/c\\ d");
    REQUIRE(c.size() == 3);
    CHECK(c[0] == std::vector<std::string>{"show", "info"});
    CHECK(c[1] == std::vector<std::string>{"show", "stat", "up"});
    CHECK(c[2] == std::vector<std::string>{"get", "weight", "a;b/c d"});
    CHECK(split_commands("").size() == 1);
    CHECK(split_commands("").front().empty());
    CHECK(split_commands("show backend;").size() == 2);
}

TEST_CASE("a non-interactive line gets each answer followed by an empty line, then the connection closes") {
    StatsFixture f(kConfig);
    CliSession s;
    s.level = CliLevel::admin;
    CHECK(f.run("show backend;show cli level", s) == "# name\nbe\nother\n\nadmin\n\n");
    CHECK(s.closing);
}

TEST_CASE("prompt enters interactive mode with the '> ' prompt; prompt again or quit leaves") {
    StatsFixture f(kConfig);
    CliSession s;
    s.level = CliLevel::operator_;
    CHECK(f.run("prompt", s) == "\n> ");
    CHECK(s.interactive);
    CHECK_FALSE(s.closing);
    CHECK(f.run("show cli level;show backend", s) == "operator\n\n> # name\nbe\nother\n\n> ");
    CHECK_FALSE(s.closing);
    CHECK(f.run("prompt", s) == "\n");
    CHECK(s.closing);

    CliSession q;
    CHECK(f.run("prompt", q) == "\n> ");
    CHECK(f.run("quit", q).empty());
    CHECK(q.closing);
}

TEST_CASE("the user level may only look; operator may clear the maxima; admin may change servers") {
    StatsFixture f(kConfig);
    for (const char* cmd : {"set weight be/s1 2", "set server be/s1 state drain", "disable server be/s1",
                            "enable server be/s1", "disable health be/s1", "enable health be/s1",
                            "clear counters", "clear counters all"})
        CHECK_MESSAGE(f.run(cmd, CliLevel::user) == "Permission denied\n\n", cmd);
    CHECK(f.run("clear counters", CliLevel::operator_) == "\n");
    CHECK(f.run("clear counters all", CliLevel::operator_) == "Permission denied\n\n");
    CHECK(f.run("set weight be/s1 2", CliLevel::operator_) == "Permission denied\n\n");
    CHECK(f.server("be", "s1").user_weight() == 1);
    CHECK(f.run("clear counters all", CliLevel::admin) == "\n");
    CHECK(f.run("set weight be/s1 2", CliLevel::admin) == "\n");
    CHECK(f.server("be", "s1").user_weight() == 2);
    for (const char* cmd : {"show info", "show stat", "show servers state", "show backend", "get weight be/s1"})
        CHECK_MESSAGE(f.run(cmd, CliLevel::user).find("Permission denied") == std::string::npos, cmd);
}

TEST_CASE("a session can lower its level but never raise it") {
    StatsFixture f(kConfig);
    CliSession s;
    s.level = CliLevel::admin;
    s.interactive = true;
    CHECK(f.run("operator;show cli level", s) == "\n> operator\n\n> ");
    CHECK(f.run("user;show cli level", s) == "\n> user\n\n> ");
    CHECK(f.run("operator", s) == "Permission denied\n\n> ");
    CHECK(s.level == CliLevel::user);
}

TEST_CASE("server arguments are checked with HAProxy's texts") {
    StatsFixture f(kConfig);
    CHECK(f.run("get weight be") == "Require 'backend/server'.\n\n");
    CHECK(f.run("get weight") == "Require 'backend/server'.\n\n");
    CHECK(f.run("get weight nope/s1") == "No such backend.\n\n");
    CHECK(f.run("get weight be/zz") == "No such server.\n\n");
    CHECK(f.run("get weight be/s2") == "3 (initial 3)\n\n");
    CHECK(f.run("get weight #2/#2") == "3 (initial 3)\n\n");
    CHECK(f.run("set weight be/s1") == "Require <weight> or <weight%>.\n\n");
    CHECK(f.run("set weight be/s1 300") == "Absolute weight can only be between 0 and 256 inclusive.\n\n");
    CHECK(f.run("set server be/s1 state bogus") == "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
    CHECK(f.run("set server be/s1 health bogus") == "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n");
    CHECK(starts_with(f.run("set server be/s1"), "usage: set server <backend>/<server> addr | agent |"));
    CHECK(f.run("enable health be/s2") == "Health check was not configured on this server, cannot enable.\n\n");
    CHECK(f.run("show servers state nope") == "Can't find backend.\n\n");
    CHECK(f.run("show stat nope -1 -1") == "No such proxy.\n\n");
}

TEST_CASE("set weight, state and health change the server state the workers read") {
    StatsFixture f(kConfig);
    CHECK(f.run("set weight be/s2 50%") == "\n");
    CHECK(f.run("get weight be/s2") == "1 (initial 3)\n\n");
    CHECK(f.run("set server be/s2 weight 200%") == "\n");
    CHECK(f.server("be", "s2").user_weight() == 6);
    CHECK(f.run("set server be/s1 state drain") == "\n");
    CHECK(f.server("be", "s1").admin() == health::Admin::drain);
    CHECK(f.run("disable server be/s1") == "\n");
    CHECK(f.server("be", "s1").admin() == health::Admin::maint);
    CHECK(f.run("enable server be/s1") == "\n");
    CHECK(f.server("be", "s1").admin() == health::Admin::ready);
    CHECK(f.run("set server be/s1 health down") == "\n");
    CHECK(f.server("be", "s1").health() == health::Health::down);
    CHECK(f.run("set server be/s1 health stopping") == "\n");
    CHECK(f.server("be", "s1").health() == health::Health::stopping);
    CHECK(f.run("disable health be/s1") == "\n");
    CHECK_FALSE(f.server("be", "s1").checks_enabled());
    CHECK(f.run("enable health be/s1") == "\n");
    CHECK(f.server("be", "s1").checks_enabled());
}

TEST_CASE("set timeout cli changes this session's idle timeout, in seconds") {
    StatsFixture f(kConfig);
    CliSession s;
    s.interactive = true;   // one session across several lines
    CHECK(f.run("set timeout cli 30", s) == "\n> ");
    CHECK(s.timeout_ms == 30000);
    CHECK(f.run("set timeout cli", s) == "Expects an integer value.\n\n> ");
    CHECK(f.run("set timeout cli 0", s) == "Invalid timeout value.\n\n> ");
    CHECK(f.run("set timeout cli x", s) == "Invalid timeout value.\n\n> ");
    CHECK(f.run("set timeout client 3", s) == "'set timeout' only supports 'cli'.\n\n> ");
    CHECK(s.timeout_ms == 30000);
}

TEST_CASE("help lists every command, then help, prompt and quit") {
    auto h = usage_message({}, true);
    CHECK(starts_with(h, "The following commands are valid at this level:\n"));
    for (const char* line : {"  clear counters [all]                    : clear max statistics counters (or all counters)\n",
                             "  get weight <bk>/<srv>                   : report a server's current weight\n",
                             "  show servers state [<backend>]          : dump volatile server information (all or for a single backend)\n",
                             "  set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)\n"})
        CHECK_MESSAGE(h.find(line) != std::string::npos, line);
    CHECK(ends_with(h, "  help [<command>]                        : list matching or all commands\n"
                       "  prompt                                  : toggle interactive mode with prompt\n"
                       "  quit                                    : disconnect\n"));
    auto show = usage_message({"show"}, true);
    CHECK(show.find("show stat") != std::string::npos);
    CHECK(show.find("get weight") == std::string::npos);
}

TEST_CASE("an unknown command gets HAProxy's usage message, with the closest commands first") {
    StatsFixture f(kConfig);
    CHECK(starts_with(f.run(""), "Unknown command. Please enter one of the following commands only:\n  clear counters"));
    auto stats = f.run("show stats");
    CHECK(starts_with(stats, "Unknown command, but maybe one of the following ones is a better match:\n"
                             "  show stat [no-maint|up]*"));
    CHECK(ends_with(stats, "  quit                                    : disconnect\n\n"));
    auto show = f.run("show");
    CHECK(starts_with(show, "Unknown command, but maybe one of the following ones is a better match:\n  show backend"));
    CHECK(show.find("set weight") == std::string::npos);
}

TEST_CASE("show servers state prints HAProxy's version 1 format") {
    StatsFixture f(kConfig);
    CHECK(f.run("set weight be/s2 2") == "\n");
    auto out = f.run("show servers state be");
    std::vector<std::string> l;
    for (std::size_t p = 0, nl; (nl = out.find('\n', p)) != std::string::npos; p = nl + 1) l.push_back(out.substr(p, nl - p));
    REQUIRE(l.size() == 6);   // "1", header, 3 servers, the empty terminator
    CHECK(l[0] == "1");
    CHECK(l[1] == "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
                  "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
                  "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
                  "srv_check_port srv_check_addr srv_agent_addr srv_agent_port");
    // be is the second proxy (id 2); s2 runs (2), no admin flag, user weight 2, initial 3,
    // never checked (INI = 1), no result, counter at rise, no check state.
    CHECK(starts_with(l[3], "2 be 2 s2 127.0.0.1 2 0 2 3 "));
    CHECK(ends_with(l[3], " 1 0 2 0 0 0 0 - 9002 - 0 0 - - 0"));
    CHECK(l[5].empty());
    auto all = f.run("show servers state");
    CHECK(all.find("3 other 1 o1 ::1 0 5 1 1 ") != std::string::npos);   // disabled: MAINT flags 1|4
}

}  // namespace
}  // namespace skjold::proxy
