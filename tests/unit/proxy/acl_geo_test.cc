// map_ip() and geoip() converters end to end: a configuration loaded by conf::load_string
// (tables loaded with the Snapshot), evaluated with a fake session.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include "conf/condition.hh"
#include "conf/loader.hh"
#include "proxy/acl_eval.hh"

using namespace skjold;

namespace {

struct SrcCtx final : proxy::FetchContext {
    geo::IpAddr src;
    bool fetch(const conf::FetchCall& f, std::size_t index, proxy::Sample& out) noexcept override {
        if (f.id != conf::FetchId::src || index != 0) return false;
        out.type = conf::SampleType::ip;
        out.ip = src;
        return true;
    }
};

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& text) {
        char tmpl[] = "/tmp/skjold-geo-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path, std::ios::binary) << text;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

std::string mmdb(const char* name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(d != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(d) + "/mmdb/" + name;
}

std::string errors_of(const conf::LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.str() + "\n";
    return out;
}

// Which of the frontend's named ACLs match a client from `addr`, as "name name ...".
std::string matching(const conf::Snapshot& s, const char* addr) {
    SrcCtx ctx;
    ctx.src = *geo::parse_ip(addr);
    std::string out;
    for (const auto& acl : s.proxies.at(0).acls)
        if (!acl.name.empty() && proxy::acl_matches(acl, ctx)) out += (out.empty() ? "" : " ") + acl.name;
    return out;
}

}  // namespace

TEST_CASE("map_ip() gives the value of the most specific prefix, DEFAULT or no sample otherwise") {
    TempFile map("127.0.0.2/32 NO\n127.0.0.0/8 XX\n2001:db8::/32 NO\n10.0.0.0/8 SE\n");
    auto r = conf::load_string("frontend f\n"
                               "  bind :1\n"
                               "  acl no src,map_ip(" + map.path + ") NO\n"
                               "  acl se src,map_ip(" + map.path + ") -m str SE\n"
                               "  acl zz src,map_ip(" + map.path + ",ZZ) ZZ\n"
                               "  acl any src,map_ip(" + map.path + ") -m found\n"
                               "  acl low src,map_ip(" + map.path + "),lower no\n"
                               "  use_backend b if no\n"
                               "backend b\n",
                               "t.cfg");
    INFO(errors_of(r));
    REQUIRE(r.snapshot);
    const conf::Snapshot& s = *r.snapshot;
    CHECK(s.geo_tables.size() == 1);   // one map file, loaded once for five converters
    CHECK(matching(s, "127.0.0.2") == "no any low");
    CHECK(matching(s, "::ffff:127.0.0.2") == "no any low");   // IPv4-mapped matches IPv4 keys
    CHECK(matching(s, "127.0.0.3") == "any");                 // 127/8 gives XX
    CHECK(matching(s, "2001:db8::5") == "no any low");
    CHECK(matching(s, "10.1.1.1") == "se any");
    CHECK(matching(s, "192.0.2.1") == "zz");                  // no prefix: DEFAULT, else no sample

    // The condition of `use_backend b if no`.
    SrcCtx ctx;
    ctx.src = *geo::parse_ip("127.0.0.2");
    CHECK(proxy::evaluate(s.proxies[0].use_backends.at(0).cond, s.proxies[0], ctx));
    ctx.src = *geo::parse_ip("127.0.0.3");
    CHECK_FALSE(proxy::evaluate(s.proxies[0].use_backends.at(0).cond, s.proxies[0], ctx));
}

TEST_CASE("geoip() reads a field of the MaxMind database named by geoip-db") {
    auto r = conf::load_string("global\n"
                               "  geoip-db country " + mmdb("GeoIP2-Country-Test.mmdb") + "\n"
                               "  geoip-db lite " + mmdb("GeoLite2-Country-Test.mmdb") + "\n"
                               "frontend f\n"
                               "  bind :1\n"
                               "  acl no src,geoip(country) NO\n"
                               "  acl se src,geoip(country,country.iso_code) SE\n"
                               "  acl reg_de src,geoip(country,registered_country.iso_code) DE\n"
                               "  acl lite_no src,geoip(lite) NO\n"
                               "  acl nordic src,geoip(country) NO SE DK FI\n"
                               "backend b\n",
                               "t.cfg");
    INFO(errors_of(r));
    REQUIRE(r.snapshot);
    const conf::Snapshot& s = *r.snapshot;
    CHECK(s.geo_tables.size() == 3);   // (country, iso_code) is shared by no, se and nordic
    CHECK(matching(s, "2a02:d140::1") == "no lite_no nordic");
    CHECK(matching(s, "89.160.20.112") == "se reg_de nordic");
    CHECK(matching(s, "::ffff:89.160.20.112") == "se reg_de nordic");
    CHECK(matching(s, "2a02:d200::1") == "nordic");           // FI
    CHECK(matching(s, "81.2.69.142") == "");                  // GB
    CHECK(matching(s, "8.8.8.8") == "");                      // not in the database: no sample
}

TEST_CASE("map_ip() and geoip() load errors name the ACL's line and the cause") {
    TempFile bad("10.0.0.0/8 NO\n10.12 SE\n");
    auto r = conf::load_string("global\n"
                               "  geoip-db broken /dev/null\n"
                               "frontend f\n"
                               "  bind :1\n"
                               "  acl a src,map_ip(" + bad.path + ") NO\n"
                               "  acl b src,map_ip(/nonexistent/c.map) NO\n"
                               "  acl c src,geoip(nosuch) NO\n"
                               "  acl d src,geoip(broken) NO\n"
                               "backend b\n",
                               "t.cfg");
    CHECK_FALSE(r.snapshot);
    std::string all = errors_of(r);
    INFO(all);
    CHECK(all.find("t.cfg:5: converter 'map_ip': " + bad.path + ":2: '10.12' is not a valid IPv4 or IPv6 address") !=
          std::string::npos);
    CHECK(all.find("t.cfg:6: converter 'map_ip': failed to open map file </nonexistent/c.map>") != std::string::npos);
    CHECK(all.find("t.cfg:7: converter 'geoip': unknown database 'nosuch' (declare it with 'geoip-db nosuch FILE' "
                   "in the global section)") != std::string::npos);
    CHECK(all.find("t.cfg:8: converter 'geoip': ") != std::string::npos);   // libmaxminddb's message
}

TEST_CASE("a proxy compiled without the loader has no table: map_ip() gives no sample") {
    conf::Proxy px;
    std::vector<std::string> words{"no", "src,map_ip(/nonexistent.map,ZZ)", "ZZ"};
    REQUIRE_FALSE(conf::add_acl(px, words, {"t.cfg", 1}));
    SrcCtx ctx;
    ctx.src = *geo::parse_ip("10.0.0.1");
    CHECK_FALSE(proxy::acl_matches(px.acls.at(0), ctx));
}
