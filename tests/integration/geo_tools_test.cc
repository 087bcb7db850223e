// `skjold geo` as an operator uses it: export Norway's prefixes from a MaxMind database into a
// list file, point `acl ... src -f` at it, and Norwegian clients (announced by an L4 balancer with
// the PROXY protocol, since test clients can only be loopback) reach the primary pool.
#include <doctest/doctest.h>

#include "harness.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("tcp");

TEST_CASE("a list exported by skjold geo export routes Norwegian clients to the primary pool") {
    t::Tempdir dir;
    auto db = t::testdata_dir() / "mmdb" / "GeoIP2-Country-Test.mmdb";
    auto exported = t::run_check({"geo", "export", "--db", db.string(), "--country", "NO"});
    REQUIRE(exported.exit_code == 0);
    CHECK(exported.out.find("2a02:d140::/29") != std::string::npos);
    auto list = dir.write("geoip_no.txt", exported.out);

    auto lookup = t::run_check({"geo", "lookup", "--db", db.string(), "--list", list.string(), "2a02:d140::1"});
    CHECK(lookup.exit_code == 0);
    CHECK(lookup.out.find("NO") != std::string::npos);

    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0 accept-proxy\n"
                                                    "    acl is_norway src -f ${LIST}\n"
                                                    "    use_backend primary if is_norway\n"
                                                    "    default_backend cloud\n"
                                                    "backend primary\n"
                                                    "    server p ${P}\n"
                                                    "backend cloud\n"
                                                    "    server c ${C}\n",
                                                    {{"LIST", list.string()},
                                                     {"P", primary.address().to_string()},
                                                     {"C", cloud.address().to_string()}}));
    auto ask = [&](const std::string& client) {
        auto c = t::Connection::open(lb.listener("fe"));
        REQUIRE(c.connected());
        REQUIRE(c.send_all("PROXY TCP6 " + client + " ::1 40000 443\r\n"));
        return c.recv_all(3s).data;
    };
    CHECK(ask("2a02:d140::1") == "primary");    // NO in the test database
    CHECK(ask("2a02:d040::1") == "cloud");      // SE
    CHECK(ask("2001:db8::1") == "cloud");       // not in the database
    CHECK(lb.stop() == 0);
}
