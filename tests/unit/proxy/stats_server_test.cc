// The StatsServer thread on a real unix socket: answers, the reload hooks (adopt, note_reload),
// and cleanup. Everything else runs through the real binary in tests/integration/stats_test.cc.

#include <doctest/doctest.h>

#include <filesystem>
#include <sys/stat.h>

#include "../../integration/stats_client.hh"
#include "../temp_file.hh"
#include "proxy/stats_server.hh"
#include "stats_fixture.hh"

namespace skjold::proxy {
namespace {

std::string config(const std::string& backend, const std::string& sock) {
    return "global\n"
           "    stats socket " + sock + " level user mode 660\n"
           "defaults\n"
           "    mode tcp\n"
           "frontend fe\n"
           "    bind 127.0.0.1:0\n"
           "    default_backend " + backend + "\n"
           "backend " + backend + "\n"
           "    server s1 127.0.0.1:9001\n";
}

TEST_CASE("the stats server answers on its socket and follows adopt() and note_reload()") {
    skjold::test::TempFile tmp("", "unused");
    std::string sock = tmp.dir + "/stats.sock";
    test::StatsFixture first(config("first", sock));
    test::StatsFixture second(config("second", sock));

    auto srv = StatsServer::bind(first.snap->global);
    REQUIRE(srv);
    struct stat st{};
    REQUIRE(stat(sock.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0660);
    ProcessFacts facts;
    facts.start_ms = core::monotonic_ms();
    (*srv)->start(first.src, facts);

    CHECK(skjold::test::stats_command(sock, "show backend") == "# name\nfirst\n\n");
    CHECK(skjold::test::stats_command(sock, "show cli level") == "user\n\n");
    (*srv)->adopt(second.src);
    CHECK(skjold::test::stats_command(sock, "show backend") == "# name\nsecond\n\n");
    (*srv)->note_reload("ok: 2 proxies");
    auto info = skjold::test::parse_info(skjold::test::stats_command(sock, "show info"));
    CHECK(info["Skjold_last_reload"] == "ok: 2 proxies");
    CHECK(info["Stopping"] == "0");
    (*srv)->note_stopping();
    CHECK(skjold::test::parse_info(skjold::test::stats_command(sock, "show info"))["Stopping"] == "1");

    srv->reset();   // stops the thread and removes the socket file it created
    CHECK_FALSE(std::filesystem::exists(sock));
}

TEST_CASE("a stats socket that cannot be bound is an error naming its FILE:LINE") {
    auto r = conf::load_string("global\n    stats socket /nonexistent-dir/x.sock\n", "t.cfg");
    REQUIRE(r.snapshot != nullptr);
    auto srv = StatsServer::bind(r.snapshot->global);
    REQUIRE_FALSE(srv);
    CHECK(srv.error().detail.rfind("t.cfg:2: stats socket unix@/nonexistent-dir/x.sock: bind", 0) == 0);
}

}  // namespace
}  // namespace skjold::proxy
