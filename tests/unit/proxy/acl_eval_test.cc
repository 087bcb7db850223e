// ACL evaluation: truth tables, match methods, casts and converters, HAProxy's quirks, and that
// evaluation never allocates. ACLs are compiled from `acl` words by conf/condition.cc and fed
// with a fake FetchContext (the evaluator's input, as a session would provide it).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "conf/condition.hh"
#include "proxy/acl_eval.hh"

using namespace skjold;
using proxy::Sample;

// Counts heap allocations so a test can assert that evaluation makes none. The replacement
// operators pair malloc/free; g++ 12 cannot see that and warns at every inlined delete. Under
// AddressSanitizer (make test-sanitize) the replacement would fight ASan's own operators, so the
// counting test runs in the normal build only.
#if defined(SKJOLD_SANITIZE)
#define SKJOLD_COUNT_ALLOCS 0
#else
#define SKJOLD_COUNT_ALLOCS 1
#endif
static std::atomic<long> g_allocs{0};
#if SKJOLD_COUNT_ALLOCS
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

const conf::SourceLocRef kLoc{"test.cfg", 3};

struct FakeCtx final : proxy::FetchContext {
    std::optional<geo::IpAddr> src, dst;
    std::optional<std::int64_t> src_port, dst_port, fe_conn;
    std::vector<std::pair<std::string, std::string>> headers;   // in order; one value each
    std::optional<std::string> path, url, method, sni;
    bool ssl = false;
    std::vector<std::int64_t> nbsrv_of;    // by proxy index
    std::vector<bool> up_of;               // by server index (one backend)
    bool endless_header = false;           // answers every index: the evaluator must stop
    std::size_t calls = 0;

    static bool iequal(std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
        return true;
    }
    static bool str(Sample& out, const std::optional<std::string>& v) {
        if (!v) return false;
        out.type = conf::SampleType::str;
        out.s = *v;
        return true;
    }
    static bool integer(Sample& out, std::optional<std::int64_t> v) {
        if (!v) return false;
        out.type = conf::SampleType::integer;
        out.i = *v;
        return true;
    }

    bool fetch(const conf::FetchCall& f, std::size_t index, Sample& out) noexcept override {
        ++calls;
        using conf::FetchId;
        switch (f.id) {
        case FetchId::src:
        case FetchId::dst: {
            auto& a = f.id == FetchId::src ? src : dst;
            if (!a) return false;
            out.type = conf::SampleType::ip;
            out.ip = *a;
            return true;
        }
        case FetchId::src_port: return integer(out, src_port);
        case FetchId::dst_port: return integer(out, dst_port);
        case FetchId::fe_conn: return integer(out, fe_conn);
        case FetchId::ssl_fc: out.type = conf::SampleType::boolean; out.b = ssl; return true;
        case FetchId::ssl_fc_sni: return str(out, sni);
        case FetchId::path: return str(out, path);
        case FetchId::url: return str(out, url);
        case FetchId::method: return str(out, method);
        case FetchId::hdr: {
            if (endless_header) { out.type = conf::SampleType::str; out.s = "x"; return true; }
            std::size_t seen = 0;
            for (const auto& [name, value] : headers)
                if (f.arg.empty() || iequal(name, f.arg)) {
                    if (seen++ == index) { out.type = conf::SampleType::str; out.s = value; return true; }
                }
            return false;
        }
        case FetchId::hdr_cnt: {
            std::int64_t n = 0;
            for (const auto& h : headers) n += f.arg.empty() || iequal(h.first, f.arg);
            return integer(out, n);
        }
        case FetchId::nbsrv:
            if (f.backend < 0 || static_cast<std::size_t>(f.backend) >= nbsrv_of.size()) return false;
            return integer(out, nbsrv_of[static_cast<std::size_t>(f.backend)]);
        case FetchId::srv_is_up:
            if (f.server < 0 || static_cast<std::size_t>(f.server) >= up_of.size()) return false;
            out.type = conf::SampleType::boolean;
            out.b = up_of[static_cast<std::size_t>(f.server)];
            return true;
        default: return false;
        }
    }
};

geo::IpAddr ip(const char* s) { return *geo::parse_ip(s); }

void acl(conf::Proxy& px, std::initializer_list<std::string> words) {
    std::vector<std::string> v(words);
    auto err = conf::add_acl(px, v, kLoc);
    REQUIRE_MESSAGE(!err.has_value(), (err ? *err : std::string()));
}

conf::Condition cond(conf::Proxy& px, std::initializer_list<std::string> words) {
    std::vector<std::string> v(words);
    auto c = conf::parse_condition(px, v, kLoc);
    REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error()));
    return *c;
}

// Compiles one `acl t ...` line into a fresh proxy and evaluates `if t` against ctx.
bool matches(std::initializer_list<std::string> acl_words_after_name, FakeCtx& ctx) {
    conf::Proxy px;
    std::vector<std::string> v{"t"};
    v.insert(v.end(), acl_words_after_name.begin(), acl_words_after_name.end());
    auto err = conf::add_acl(px, v, kLoc);
    REQUIRE_MESSAGE(!err.has_value(), (err ? *err : std::string()));
    return proxy::acl_matches(px.acls[0], ctx);
}

bool with_header(std::initializer_list<std::string> acl_words, const char* name, const char* value) {
    FakeCtx ctx;
    ctx.headers = {{name, value}};
    return matches(acl_words, ctx);
}

std::string testdata(const char* name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(d != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(d) + "/" + name;
}

}  // namespace

TEST_CASE("src -f no-v4.cidr -f no-v6.cidr: Norwegian clients match, others and unix sockets do not") {
    conf::Proxy px;
    acl(px, {"is_norway", "src", "-f", testdata("no-v4.cidr"), "-f", testdata("no-v6.cidr")});
    conf::Condition use_primary = cond(px, {"if", "is_norway"});
    conf::Condition not_norway = cond(px, {"if", "!is_norway"});
    FakeCtx ctx;
    for (const char* a : {"2.148.0.1", "84.48.0.1", "::ffff:84.48.0.1", "2001:678:f0::1"}) {
        CAPTURE(a);
        ctx.src = ip(a);
        CHECK(proxy::evaluate(use_primary, px, ctx));
        CHECK_FALSE(proxy::evaluate(not_norway, px, ctx));
    }
    for (const char* a : {"8.8.8.8", "1.1.1.1", "2001:db8::1", "::84.48.0.1"}) {
        CAPTURE(a);
        ctx.src = ip(a);
        CHECK_FALSE(proxy::evaluate(use_primary, px, ctx));
        CHECK(proxy::evaluate(not_norway, px, ctx));
    }
    ctx.src.reset();   // e.g. a unix socket client: no sample, the ACL is false, its negation true
    CHECK_FALSE(proxy::evaluate(use_primary, px, ctx));
    CHECK(proxy::evaluate(not_norway, px, ctx));
}

TEST_CASE("truth tables of AND, OR, negation and unless over every input") {
    for (int in = 0; in < 4; ++in) {
        const bool a = in & 1, b = in & 2;
        CAPTURE(a);
        CAPTURE(b);
        conf::Proxy px;
        acl(px, {"a", a ? "always_true" : "always_false"});
        acl(px, {"b", b ? "always_true" : "always_false"});
        FakeCtx ctx;
        auto eval = [&](std::initializer_list<std::string> words) { return proxy::evaluate(cond(px, words), px, ctx); };
        CHECK(eval({"if", "a", "b"}) == (a && b));
        CHECK(eval({"if", "a", "||", "b"}) == (a || b));
        CHECK(eval({"if", "a", "or", "b"}) == (a || b));
        CHECK(eval({"if", "!a"}) == !a);
        CHECK(eval({"if", "!", "a", "b"}) == (!a && b));
        CHECK(eval({"if", "a", "!b", "or", "!a", "b"}) == (a != b));
        CHECK(eval({"unless", "a", "b"}) == !(a && b));
        CHECK(eval({"unless", "a", "or", "b"}) == !(a || b));
        CHECK(eval({"if", "{", a ? "always_true" : "always_false", "}", "!{", b ? "always_true" : "always_false", "}"}) ==
              (a && !b));
    }
}

TEST_CASE("no condition is true; an empty if is false and an empty unless true, as in HAProxy") {
    conf::Proxy px;
    FakeCtx ctx;
    CHECK(proxy::evaluate(conf::Condition{}, px, ctx));
    CHECK_FALSE(proxy::evaluate(cond(px, {"if"}), px, ctx));
    CHECK(proxy::evaluate(cond(px, {"unless"}), px, ctx));
}

TEST_CASE("tcp-request connection reject if { src 127.0.0.2 } rejects 127.0.0.2 only") {
    conf::Proxy px;
    conf::Condition reject = cond(px, {"if", "{", "src", "127.0.0.2", "}"});
    FakeCtx ctx;
    ctx.src = ip("127.0.0.2");
    CHECK(proxy::evaluate(reject, px, ctx));
    ctx.src = ip("127.0.0.3");
    CHECK_FALSE(proxy::evaluate(reject, px, ctx));
}

TEST_CASE("an ACL defined on several lines matches when any line matches") {
    conf::Proxy px;
    acl(px, {"bad", "src", "10.0.0.1"});
    acl(px, {"bad", "src_port", "6666"});
    conf::Condition c = cond(px, {"if", "bad"});
    FakeCtx ctx;
    ctx.src = ip("10.0.0.2");
    ctx.src_port = 1234;
    CHECK_FALSE(proxy::evaluate(c, px, ctx));
    ctx.src_port = 6666;
    CHECK(proxy::evaluate(c, px, ctx));
    ctx.src = ip("10.0.0.1");
    ctx.src_port.reset();
    CHECK(proxy::evaluate(c, px, ctx));
}

TEST_CASE("is_oslo_down nbsrv(oslo_primary) lt 1 follows the backend's usable server count") {
    conf::Snapshot snap;
    conf::Proxy fe;
    fe.name = "http_front";
    fe.is_frontend = true;
    acl(fe, {"is_oslo_down", "nbsrv(oslo_primary)", "lt", "1"});
    conf::Proxy be;
    be.name = "oslo_primary";
    be.is_backend = true;
    snap.proxies.push_back(std::move(fe));
    snap.proxies.push_back(std::move(be));
    std::vector<std::string> errors;
    conf::resolve_conditions(snap, errors);
    REQUIRE(errors.empty());
    conf::Proxy& front = snap.proxies[0];
    conf::Condition c = cond(front, {"if", "is_oslo_down"});
    FakeCtx ctx;
    ctx.nbsrv_of = {0, 2};
    CHECK_FALSE(proxy::evaluate(c, front, ctx));
    ctx.nbsrv_of = {0, 0};
    CHECK(proxy::evaluate(c, front, ctx));
}

TEST_CASE("-i makes string matches case-insensitive; without it case matters") {
    CHECK(with_header({"hdr_sub(User-Agent)", "-i", "curl", "wget"}, "user-agent", "CURL/7.88"));
    CHECK(with_header({"hdr_sub(User-Agent)", "-i", "curl", "wget"}, "User-Agent", "GNU Wget 1.21"));
    CHECK_FALSE(with_header({"hdr_sub(User-Agent)", "curl"}, "User-Agent", "CURL/7.88"));
    CHECK_FALSE(with_header({"hdr_sub(User-Agent)", "-i", "curl", "wget"}, "User-Agent", "Mozilla/5.0"));
    CHECK(with_header({"hdr(host)", "-i", "A.example", "b.EXAMPLE", "c.example"}, "Host", "B.example"));
    CHECK_FALSE(with_header({"hdr(host)", "A.example", "b.EXAMPLE", "c.example"}, "Host", "B.example"));
}

TEST_CASE("string match methods: str, beg, end, sub, dom, dir, len, found") {
    CHECK(with_header({"hdr(x)", "abc"}, "x", "abc"));
    CHECK_FALSE(with_header({"hdr(x)", "abc"}, "x", "abcd"));
    CHECK(with_header({"hdr_beg(x)", "/api"}, "x", "/api/v1"));
    CHECK_FALSE(with_header({"hdr_beg(x)", "/api"}, "x", "/ap"));
    CHECK(with_header({"hdr_end(x)", ".jpg"}, "x", "/a/b.jpg"));
    CHECK_FALSE(with_header({"hdr_end(x)", ".jpg"}, "x", "/a/b.jpeg"));
    CHECK(with_header({"hdr(x)", "-m", "sub", "bc"}, "x", "abcd"));
    // -m dom, as HAProxy 2.6 answered `get acl` for hdr_dom(host) -i example.com
    CHECK(with_header({"hdr_dom(host)", "-i", "example.com"}, "host", "www.Example.com"));
    CHECK(with_header({"hdr_dom(host)", "-i", "example.com"}, "host", "example.com.evil"));
    CHECK(with_header({"hdr_dom(host)", "-i", "example.com"}, "host", "example.com:80"));
    CHECK(with_header({"hdr_dom(host)", "-i", "example.com"}, "host", "a/example.com?x"));
    CHECK_FALSE(with_header({"hdr_dom(host)", "-i", "example.com"}, "host", "notexample.com"));
    CHECK(with_header({"hdr_dom(host)", ".example."}, "host", "example"));   // delimiters around the pattern ignored
    CHECK(with_header({"hdr(x)", "-m", "dir", "api"}, "x", "/v1/api/users"));
    CHECK_FALSE(with_header({"hdr(x)", "-m", "dir", "api"}, "x", "/v1/api.json"));
    CHECK(with_header({"hdr_len(x)", "3"}, "x", "abc"));
    CHECK(with_header({"hdr(x)", "-m", "len", "gt", "2"}, "x", "abc"));
    CHECK_FALSE(with_header({"hdr(x)", "-m", "len", "gt", "3"}, "x", "abc"));
    CHECK(with_header({"hdr(x)", "-m", "found"}, "x", ""));
    CHECK_FALSE(with_header({"hdr(y)", "-m", "found"}, "x", ""));
}

TEST_CASE("integer operators and HAProxy's ranges") {
    FakeCtx ctx;
    auto port = [&](std::int64_t p, std::initializer_list<std::string> words) {
        ctx.src_port = p;
        return matches(words, ctx);
    };
    CHECK(port(80, {"src_port", "80", "443"}));
    CHECK_FALSE(port(81, {"src_port", "80", "443"}));
    CHECK(port(9, {"src_port", "lt", "10"}));
    CHECK_FALSE(port(10, {"src_port", "lt", "10"}));
    CHECK(port(10, {"src_port", "le", "10"}));
    CHECK(port(11, {"src_port", "gt", "10"}));
    CHECK_FALSE(port(10, {"src_port", "gt", "10"}));
    CHECK(port(10, {"src_port", "ge", "10"}));
    CHECK(port(10, {"src_port", "eq", "10"}));
    CHECK(port(11, {"src_port", "ne", "10"}));        // skjold: real "not equal" (HAProxy 2.6 reads ne as eq)
    CHECK_FALSE(port(10, {"src_port", "ne", "10"}));
    CHECK(port(15, {"src_port", "10:20"}));
    CHECK(port(20, {"src_port", "10-20"}));
    CHECK_FALSE(port(21, {"src_port", "10:20"}));
    CHECK(port(5, {"src_port", ":5"}));
    CHECK_FALSE(port(6, {"src_port", ":5"}));
    CHECK(port(31, {"src_port", "30:"}));
    CHECK(port(4, {"src_port", "--", "-5"}));          // HAProxy: "-5" is ":5"
    CHECK(port(5000, {"src_port", "lt", "10", "gt", "1000"}));
    CHECK(port(20, {"src_port", "gt", "1000", "15:25"}));
}

TEST_CASE("boolean fetches match when true; their values are ignored") {
    FakeCtx ctx;
    ctx.ssl = true;
    CHECK(matches({"ssl_fc"}, ctx));
    CHECK(matches({"ssl_fc", "0"}, ctx));
    ctx.ssl = false;
    CHECK_FALSE(matches({"ssl_fc"}, ctx));
    CHECK_FALSE(matches({"always_false", "1"}, ctx));
    CHECK(matches({"ssl_fc", "-m", "found"}, ctx));
    ctx.src_port = 0;
    CHECK_FALSE(matches({"src_port", "-m", "bool"}, ctx));
    ctx.src_port = 7;
    CHECK(matches({"src_port", "-m", "bool"}, ctx));
}

TEST_CASE("srv_is_up and nbsrv read the resolved indexes") {
    conf::Proxy px;
    acl(px, {"up", "srv_is_up(be/s2)"});
    px.acls[0].exprs[0].fetch.backend = 1;   // what resolve_conditions sets
    px.acls[0].exprs[0].fetch.server = 1;
    FakeCtx ctx;
    ctx.up_of = {true, false};
    CHECK_FALSE(proxy::acl_matches(px.acls[0], ctx));
    ctx.up_of = {false, true};
    CHECK(proxy::acl_matches(px.acls[0], ctx));
}

TEST_CASE("samples are cast to the match method's type as HAProxy casts them") {
    CHECK(with_header({"hdr(x-forwarded-for)", "-m", "ip", "10.0.0.0/8"}, "X-Forwarded-For", "10.1.2.3"));
    CHECK(with_header({"hdr(x-forwarded-for)", "-m", "ip", "2001:db8::/32"}, "X-Forwarded-For", "2001:db8::7"));
    CHECK_FALSE(with_header({"hdr(x-forwarded-for)", "-m", "ip", "10.0.0.0/8"}, "X-Forwarded-For", "not an ip"));
    CHECK(with_header({"hdr(x)", "-m", "int", "gt", "5"}, "x", "7abc"));       // c_str2int reads the leading digits
    CHECK_FALSE(with_header({"hdr(x)", "-m", "int", "1"}, "x", ""));          // empty string: no integer
    FakeCtx ctx;
    ctx.src = ip("10.0.0.1");
    CHECK(matches({"src", "-m", "str", "10.0.0.1"}, ctx));
    CHECK(matches({"src", "-m", "beg", "10."}, ctx));
    CHECK(matches({"src", "-m", "int", "167772161"}, ctx));
    ctx.src = ip("2001:db8::1");
    CHECK(matches({"src", "-m", "str", "2001:db8::1"}, ctx));
    CHECK_FALSE(matches({"src", "-m", "int", "0:"}, ctx));                  // IPv6 has no integer form
    ctx.nbsrv_of = {10};
    conf::Proxy px;
    acl(px, {"n", "nbsrv", "-m", "sub", "1"});
    px.acls[0].exprs[0].fetch.backend = 0;
    CHECK(proxy::acl_matches(px.acls[0], ctx));                              // "10" contains "1"
}

TEST_CASE("converters: lower/upper chain; with a converter hdr_sub becomes an exact match (HAProxy)") {
    CHECK(with_header({"hdr(x),lower", "abc"}, "x", "AbC"));
    CHECK(with_header({"hdr(x),lower,upper", "ABC"}, "x", "aBc"));
    CHECK(with_header({"hdr_sub(User-Agent),lower", "curl"}, "User-Agent", "CURL"));
    CHECK_FALSE(with_header({"hdr_sub(User-Agent),lower", "curl"}, "User-Agent", "xcurlx"));
    FakeCtx ctx;
    ctx.src = ip("10.0.0.1");
    CHECK(matches({"src,upper", "10.0.0.1"}, ctx));
    ctx.src = ip("2001:DB8::A");
    CHECK(matches({"src,upper", "2001:DB8::A"}, ctx));
}

TEST_CASE("a value longer than the converter scratch space makes the converter fail: no match") {
    std::string big(proxy::kMaxConvertedBytes, 'A');
    CHECK(with_header({"hdr(x),lower", "-m", "len", std::to_string(big.size())}, "x", big.c_str()));
    big.push_back('A');
    CHECK_FALSE(with_header({"hdr(x),lower", "-m", "len", std::to_string(big.size())}, "x", big.c_str()));
    CHECK_FALSE(with_header({"hdr(x),lower", "-m", "found"}, "x", big.c_str()));
}

TEST_CASE("map_ip and geoip samples do not exist until the geo issue implements them") {
    FakeCtx ctx;
    ctx.src = ip("10.0.0.1");
    CHECK_FALSE(matches({"src,map_ip(/etc/geo.map)", "-m", "found"}, ctx));
    conf::Proxy px;
    acl(px, {"g", "src,geoip(country)", "NO"});
    CHECK(px.acls[0].exprs[0].uses_geo);
    CHECK(proxy::evaluate(cond(px, {"if", "!g"}), px, ctx));
}

TEST_CASE("method: a known method matches only its exact name even with -i (pat_match_meth)") {
    FakeCtx ctx;
    ctx.method = "GET";
    CHECK(matches({"method", "GET", "HEAD"}, ctx));
    CHECK_FALSE(matches({"method", "-i", "get"}, ctx));
    ctx.method = "PURGE";
    CHECK(matches({"method", "-i", "purge"}, ctx));
    CHECK_FALSE(matches({"method", "purge"}, ctx));
    conf::Proxy px;
    conf::Condition c = cond(px, {"if", "METH_GET"});
    ctx.method = "HEAD";
    CHECK(proxy::evaluate(c, px, ctx));
    ctx.method = "POST";
    CHECK_FALSE(proxy::evaluate(c, px, ctx));
}

TEST_CASE("every occurrence of a header is tried, and a runaway fetch is bounded") {
    FakeCtx ctx;
    ctx.headers = {{"X-Tag", "a"}, {"Other", "b"}, {"x-tag", "target"}};
    CHECK(matches({"hdr(x-tag)", "target"}, ctx));
    CHECK_FALSE(matches({"hdr(x-tag)", "b"}, ctx));
    CHECK_FALSE(matches({"hdr", "-m", "found"}, ctx));  // no name: HAProxy 2.6 gives no sample
    CHECK_FALSE(matches({"hdr()", "b"}, ctx));
    CHECK(matches({"hdr_cnt(x-tag)", "2"}, ctx));
    ctx.endless_header = true;
    ctx.calls = 0;
    CHECK_FALSE(matches({"hdr(x)", "y"}, ctx));
    CHECK(ctx.calls == proxy::kMaxSamplesPerFetch);
    ctx.calls = 0;
    ctx.src_port = 1;
    CHECK_FALSE(matches({"src_port", "2"}, ctx));
    CHECK(ctx.calls == 1);                             // single-valued: asked for index 0 only
}

TEST_CASE("a large -i string list is searched correctly (sorted binary search)") {
    conf::Proxy px;
    std::vector<std::string> v{"big", "hdr(host)", "-i"};
    for (int i = 0; i < 500; ++i) v.push_back("Host" + std::to_string(i) + ".Example");
    REQUIRE_FALSE(conf::add_acl(px, v, kLoc).has_value());
    FakeCtx ctx;
    for (int i : {0, 1, 250, 499}) {
        ctx.headers = {{"host", "HOST" + std::to_string(i) + ".example"}};
        CHECK(proxy::acl_matches(px.acls[0], ctx));
    }
    ctx.headers = {{"host", "host500.example"}};
    CHECK_FALSE(proxy::acl_matches(px.acls[0], ctx));
}

TEST_CASE("evaluation allocates nothing") {
    if (!SKJOLD_COUNT_ALLOCS) {
        MESSAGE("allocation counting is off under AddressSanitizer; the normal build checks it");
        return;
    }
    conf::Proxy px;
    acl(px, {"nor", "src", "-f", testdata("no-v4.cidr")});
    acl(px, {"bot", "hdr_sub(User-Agent),lower", "curl"});
    acl(px, {"p", "src_port", "10:20", "gt", "1000"});
    acl(px, {"h", "hdr(host)", "-i", "a.example", "b.example"});
    conf::Condition c = cond(px, {"if", "nor", "!bot", "||", "p", "h", "||", "{", "src", "-m", "str", "1.2.3.4", "}"});
    FakeCtx ctx;
    ctx.src = ip("84.48.0.1");
    ctx.src_port = 15;
    ctx.headers = {{"User-Agent", "Mozilla/5.0"}, {"Host", "B.example"}};
    long probe = g_allocs.load();
    delete new std::string(64, 'x');   // the counter sees allocations (the test can fail)
    REQUIRE(g_allocs.load() > probe);
    long before = g_allocs.load();
    bool r = false;
    for (int i = 0; i < 100; ++i) r = proxy::evaluate(c, px, ctx);
    long after = g_allocs.load();
    CHECK(r);
    CHECK(after == before);
}
