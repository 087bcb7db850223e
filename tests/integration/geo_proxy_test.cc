// Geo routing of clients announced by an L4 balancer: `accept-proxy` on the frontend, PROXY v1
// and v2 headers carrying IPv4 and IPv6 sources, classified by the real Norwegian prefix lists
// (`src -f no-v4.cidr` / `no-v6.cidr`) or by `src,geoip(NAME)` on a MaxMind database. A Norwegian
// source reaches the primary pool, any other the hyperscaler pool. (proxy_protocol_test.cc covers
// inline `src` patterns and bad headers, geo_test.cc sources without PROXY headers.)
#include <doctest/doctest.h>

#include "harness.hh"
#include "../unit/geo/tiny_mmdb.hh"

#include <arpa/inet.h>

#include <array>
#include <string>

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

bool is_v6(const std::string& ip) { return ip.find(':') != std::string::npos; }

std::string proxy_v1(const std::string& src) {
    return is_v6(src) ? "PROXY TCP6 " + src + " ::1 40000 443\r\n" : "PROXY TCP4 " + src + " 10.0.0.1 40000 443\r\n";
}

// A PROXY v2 PROXY-command header for a TCP client `src` (IPv4 or IPv6) and port 40000.
std::string proxy_v2(const std::string& src) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += '\x21';   // version 2, PROXY
    unsigned char a[16] = {}, d[16] = {};
    if (is_v6(src)) {
        REQUIRE(inet_pton(AF_INET6, src.c_str(), a) == 1);
        d[15] = 1;   // ::1
        h += '\x21';   // TCP over IPv6
        h += '\0';
        h += static_cast<char>(36);
        h.append(reinterpret_cast<const char*>(a), 16);
        h.append(reinterpret_cast<const char*>(d), 16);
    } else {
        REQUIRE(inet_pton(AF_INET, src.c_str(), a) == 1);
        d[0] = 10, d[3] = 1;   // 10.0.0.1
        h += '\x11';   // TCP over IPv4
        h += '\0';
        h += static_cast<char>(12);
        h.append(reinterpret_cast<const char*>(a), 4);
        h.append(reinterpret_cast<const char*>(d), 4);
    }
    h += std::string("\x9c\x40\x01\xbb", 4);   // ports 40000 -> 443
    return h;
}

// Which pool answers a client announced as `src` with a PROXY header of `version` (1 or 2).
std::string routed(const t::Address& lb, const std::string& src, int version) {
    auto c = t::Connection::open(lb);
    REQUIRE(c.connected());
    REQUIRE(c.send_all(version == 1 ? proxy_v1(src) : proxy_v2(src)));
    auto got = c.recv_all(3s);
    return got.data.empty() ? "(closed: " + std::string(t::to_string(got.end)) + ")" : got.data;
}

const char* kRoutes =
    "    use_backend primary if is_norway\n"
    "    default_backend cloud\n"
    "backend primary\n"
    "    server p ${P}\n"
    "backend cloud\n"
    "    server c ${C}\n";

struct Case {
    const char* src;
    const char* pool;
};

// Every source behind both header versions; returns how many connections each pool must have seen.
void check_routes(const t::Address& lb, std::initializer_list<Case> cases, t::TcpAnswerServer& primary,
                  t::TcpAnswerServer& cloud) {
    std::uint64_t want_primary = 0, want_cloud = 0;
    for (const auto& c : cases)
        for (int version : {1, 2}) {
            CAPTURE(c.src);
            CAPTURE(version);
            CHECK(routed(lb, c.src, version) == c.pool);
            (std::string(c.pool) == "primary" ? want_primary : want_cloud) += 1;
        }
    CHECK(primary.accepted() == want_primary);
    CHECK(cloud.accepted() == want_cloud);
}

}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("src -f on the Norwegian lists routes PROXY v1 and v2 clients, IPv4 and IPv6, by country") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(
        dir, std::string(t::kTcpDefaults) +
                 t::fill(std::string("frontend fe\n"
                                     "    bind 127.0.0.1:0 accept-proxy\n"
                                     "    acl is_norway src -f ${V4}\n"
                                     "    acl is_norway src -f ${V6}\n") +
                             kRoutes,
                         {{"V4", (t::testdata_dir() / "no-v4.cidr").string()},
                          {"V6", (t::testdata_dir() / "no-v6.cidr").string()},
                          {"P", primary.address().to_string()},
                          {"C", cloud.address().to_string()}}));
    check_routes(lb.listener("fe"),
                 {
                     {"84.208.0.1", "primary"},           // 84.208.0.0/13, the first line's family
                     {"2.151.255.254", "primary"},        // the last addresses of 2.148.0.0/14
                     {"2a02:d140::1", "primary"},         // 2a02:d140::/29
                     {"2a01:79e0:ffff::1", "primary"},    // 2a01:79e0::/32
                     {"8.8.8.8", "cloud"},
                     {"2.152.0.1", "cloud"},              // just past 2.148.0.0/14
                     {"2001:db8::1", "cloud"},
                     {"2a02:d040::1", "cloud"},           // Swedish in the MaxMind test data
                     {"::ffff:84.208.0.1", "primary"},    // an IPv4-mapped IPv6 client is IPv4
                 },
                 primary, cloud);
    CHECK(lb.stop() == 0);
}

TEST_CASE("src,geoip() on a MaxMind database routes PROXY v1 and v2 clients, IPv4 and IPv6, by country") {
    t::Tempdir dir;
    // The MaxMind test databases have no Norwegian IPv4 network (testdata/README.md): this one
    // does, written with the unit tests' MaxMind DB writer (IPv4 under ::/96, as MaxMind does).
    t::TinyMmdb db(6);
    auto v4 = [](std::uint8_t a, std::uint8_t b) {
        std::array<std::uint8_t, 16> x{};
        x[12] = a, x[13] = b;
        return x;
    };
    db.add(v4(84, 208), 96 + 13, "NO");
    db.add(v4(8, 8), 96 + 16, "US");
    db.add({0x2a, 0x02, 0xd1, 0x40}, 29, "NO");
    db.add({0x20, 0x01, 0x0d, 0xb8}, 32, "SE");
    auto file = dir.write("countries.mmdb", db.bytes());
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(
        dir, t::fill("global\n"
                     "    geoip-db countries ${DB}\n",
                     {{"DB", file.string()}}) +
                 std::string(t::kTcpDefaults) +
                 t::fill(std::string("frontend fe\n"
                                     "    bind 127.0.0.1:0 accept-proxy\n"
                                     "    acl is_norway src,geoip(countries) NO\n") +
                             kRoutes,
                         {{"P", primary.address().to_string()}, {"C", cloud.address().to_string()}}));
    check_routes(lb.listener("fe"),
                 {
                     {"84.208.0.1", "primary"},
                     {"84.215.255.255", "primary"},   // the last address of 84.208.0.0/13
                     {"2a02:d147:ffff::1", "primary"},
                     {"8.8.8.8", "cloud"},            // US
                     {"84.216.0.1", "cloud"},         // not in the database: no sample
                     {"2001:db8::1", "cloud"},        // SE
                     {"2a02:d148::1", "cloud"},       // just past the /29
                 },
                 primary, cloud);
    CHECK(lb.stop() == 0);
}

TEST_CASE("src,geoip() on the MaxMind test database routes PROXY v1 and v2 IPv6 clients; IPv4 by field") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), cloud("cloud");
    auto lb = t::start_with_config(
        dir, t::fill("global\n"
                     "    geoip-db maxmind ${DB}\n",
                     {{"DB", (t::testdata_dir() / "mmdb" / "GeoIP2-Country-Test.mmdb").string()}}) +
                 std::string(t::kTcpDefaults) +
                 t::fill(std::string("frontend fe\n"
                                     "    bind 127.0.0.1:0 accept-proxy\n"
                                     "    acl is_norway src,geoip(maxmind) NO\n"
                                     // No IPv4 network there is NO: one registered in DE stands in.
                                     "    acl is_norway src,geoip(maxmind,registered_country.iso_code) DE\n") +
                             kRoutes,
                         {{"P", primary.address().to_string()}, {"C", cloud.address().to_string()}}));
    check_routes(lb.listener("fe"),
                 {
                     {"2a02:d140::1", "primary"},     // NO
                     {"2a02:fc80::1", "primary"},     // NO
                     {"89.160.20.112", "primary"},    // SE, registered in DE
                     {"2a02:d040::1", "cloud"},       // SE
                     {"2001:220::1", "cloud"},        // KR
                     {"81.2.69.142", "cloud"},        // GB, registered in US
                     {"1.1.1.1", "cloud"},            // not in the database
                 },
                 primary, cloud);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
