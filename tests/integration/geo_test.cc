// Geo routing through the real binary: a client's source address, looked up in a map_ip() file
// or a `src -f` list, picks the backend. Clients can only come from 127.0.0.0/8, so the files
// map 127.0.0.2 to NO (the primary pool) and 127.0.0.3 to SE (the hyperscaler pool).
#include <doctest/doctest.h>

#include "harness.hh"

namespace t = skjold::test;
using t::who_answers;

TEST_SUITE_BEGIN("tcp");

TEST_CASE("map_ip routes a client from 127.0.0.2 to the primary pool and 127.0.0.3 elsewhere") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto map = dir.write("countries.map", "# source -> country\n127.0.0.2/32 NO\n127.0.0.3/32 SE\n::1 SE\n");
    auto lb = t::start_with_config(
        dir, std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    use_backend primary if { src,map_ip(${MAP}) NO }\n"
                         "    default_backend cloud\n"
                         "backend primary\n"
                         "    server p ${P}\n"
                         "backend cloud\n"
                         "    server c ${C}\n",
                         {{"MAP", map.string()}, {"P", primary.address().to_string()}, {"C", cloud.address().to_string()}}));
    CHECK(who_answers(lb.listener("fe"), "127.0.0.2") == "primary");
    CHECK(who_answers(lb.listener("fe"), "127.0.0.3") == "cloud");
    CHECK(who_answers(lb.listener("fe"), "127.0.0.4") == "cloud");   // not in the map: no sample
    CHECK(who_answers(lb.listener("fe"), "127.0.0.2") == "primary");
    CHECK(primary.accepted() == 2);
    CHECK(cloud.accepted() == 2);
    CHECK(lb.stop() == 0);
}

TEST_CASE("an acl src -f list routes a client from 127.0.0.2 to the primary pool") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto list = dir.write("geoip_no.txt", "# Norway\n84.208.0.0/13\n127.0.0.2\n2a02:d140::/29\n");
    auto lb = t::start_with_config(
        dir, std::string(t::kTcpDefaults) +
                 t::fill("frontend fe\n"
                         "    bind 127.0.0.1:0\n"
                         "    acl is_norway src -f ${LIST}\n"
                         "    use_backend primary if is_norway\n"
                         "    default_backend cloud\n"
                         "backend primary\n"
                         "    server p ${P}\n"
                         "backend cloud\n"
                         "    server c ${C}\n",
                         {{"LIST", list.string()}, {"P", primary.address().to_string()}, {"C", cloud.address().to_string()}}));
    CHECK(who_answers(lb.listener("fe"), "127.0.0.2") == "primary");
    CHECK(who_answers(lb.listener("fe"), "127.0.0.3") == "cloud");
    CHECK(primary.accepted() == 1);
    CHECK(cloud.accepted() == 1);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
