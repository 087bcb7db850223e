// ACL and condition compilation: what `acl` lines and `if|unless` suffixes compile to, and
// every error message (without the FILE:LINE prefix the parser adds). Evaluation truth tables
// are in tests/unit/proxy/acl_eval_test.cc.
#include <doctest/doctest.h>

#include "tests/unit/temp_file.hh"

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "conf/acl_expr_parse.hh"
#include "conf/condition.hh"
#include "conf/fetch_registry.hh"

using namespace skjold::conf;

namespace {

const SourceLocRef kLoc{"test.cfg", 7};

std::vector<std::string> w(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

// Compiles `acl ...` and requires success.
void acl(Proxy& px, std::initializer_list<const char*> words) {
    auto v = w(words);
    auto err = add_acl(px, v, kLoc);
    REQUIRE_MESSAGE(!err.has_value(), (err ? *err : std::string()));
}

std::string acl_error(std::initializer_list<const char*> words) {
    Proxy px;
    auto v = w(words);
    auto err = add_acl(px, v, kLoc);
    REQUIRE_MESSAGE(err.has_value(), "expected an error");
    return *err;
}

const AclExpr& only_expr(const Proxy& px) {
    REQUIRE(px.acls.size() == 1);
    REQUIRE(px.acls[0].exprs.size() == 1);
    return px.acls[0].exprs[0];
}

Condition cond(Proxy& px, std::initializer_list<const char*> words) {
    auto v = w(words);
    auto c = parse_condition(px, v, kLoc);
    REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error()));
    return *c;
}

std::string cond_error(Proxy& px, std::initializer_list<const char*> words) {
    auto v = w(words);
    auto c = parse_condition(px, v, kLoc);
    REQUIRE_MESSAGE(!c.has_value(), "expected an error");
    return c.error();
}

std::string testdata(const char* name) {
    const char* d = std::getenv("SKJOLD_TESTDATA");
    REQUIRE_MESSAGE(d != nullptr, "SKJOLD_TESTDATA is not set (run through meson test)");
    return std::string(d) + "/" + name;
}

using skjold::test::TempFile;

}  // namespace

TEST_CASE("every fetch keyword of CONFIG.md is in the registry with HAProxy's type and match method") {
    struct Want { const char* kw; FetchId id; SampleType t; MatchMethod m; };
    const Want wants[] = {
        {"src", FetchId::src, SampleType::ip, MatchMethod::ip},
        {"src_port", FetchId::src_port, SampleType::integer, MatchMethod::integer},
        {"dst", FetchId::dst, SampleType::ip, MatchMethod::ip},
        {"dst_port", FetchId::dst_port, SampleType::integer, MatchMethod::integer},
        {"ssl_fc", FetchId::ssl_fc, SampleType::boolean, MatchMethod::boolean},
        {"ssl_fc_sni", FetchId::ssl_fc_sni, SampleType::str, MatchMethod::str},
        {"ssl_fc_protocol", FetchId::ssl_fc_protocol, SampleType::str, MatchMethod::str},
        {"ssl_fc_alpn", FetchId::ssl_fc_alpn, SampleType::str, MatchMethod::str},
        {"hdr", FetchId::hdr, SampleType::str, MatchMethod::str},
        {"hdr_sub", FetchId::hdr, SampleType::str, MatchMethod::sub},
        {"hdr_beg", FetchId::hdr, SampleType::str, MatchMethod::beg},
        {"hdr_end", FetchId::hdr, SampleType::str, MatchMethod::end},
        {"hdr_dom", FetchId::hdr, SampleType::str, MatchMethod::dom},
        {"hdr_cnt", FetchId::hdr_cnt, SampleType::integer, MatchMethod::integer},
        {"req.hdr", FetchId::hdr, SampleType::str, MatchMethod::str},
        {"path", FetchId::path, SampleType::str, MatchMethod::str},
        {"path_beg", FetchId::path, SampleType::str, MatchMethod::beg},
        {"path_end", FetchId::path, SampleType::str, MatchMethod::end},
        {"path_sub", FetchId::path, SampleType::str, MatchMethod::sub},
        {"url", FetchId::url, SampleType::str, MatchMethod::str},
        {"method", FetchId::method, SampleType::str, MatchMethod::str},
        {"nbsrv", FetchId::nbsrv, SampleType::integer, MatchMethod::integer},
        {"srv_is_up", FetchId::srv_is_up, SampleType::boolean, MatchMethod::boolean},
        {"fe_conn", FetchId::fe_conn, SampleType::integer, MatchMethod::integer},
        {"be_conn", FetchId::be_conn, SampleType::integer, MatchMethod::integer},
        {"always_true", FetchId::always_true, SampleType::boolean, MatchMethod::boolean},
        {"always_false", FetchId::always_false, SampleType::boolean, MatchMethod::boolean},
    };
    for (const auto& want : wants) {
        CAPTURE(want.kw);
        const FetchDef* d = find_fetch(want.kw);
        REQUIRE(d != nullptr);
        CHECK(d->id == want.id);
        CHECK(d->type == want.t);
        CHECK(d->method == want.m);
    }
    CHECK(find_fetch("foo") == nullptr);
    for (const char* c : {"lower", "upper", "map_ip", "geoip"}) CHECK(find_converter(c) != nullptr);
}

TEST_CASE("an acl line compiles the fetch, its argument and inline IP values into a matcher") {
    Proxy px;
    acl(px, {"blocked", "src", "10.0.0.0/8", "192.168.1/22", "2001:db8::/32"});
    const AclExpr& e = only_expr(px);
    CHECK(px.acls[0].name == "blocked");
    CHECK(e.fetch.id == FetchId::src);
    CHECK(e.method == MatchMethod::ip);
    CHECK(e.keyword == "src");
    CHECK(e.loc.file == "test.cfg");
    CHECK(e.loc.line == 7);
    REQUIRE(e.prefixes.size() == 3);
    CHECK(e.prefixes[1].to_string() == "192.168.0.0/22");
    CHECK(e.ip_matcher.contains(*skjold::geo::parse_ip("192.168.3.9")));
    CHECK_FALSE(e.ip_matcher.contains(*skjold::geo::parse_ip("192.168.4.1")));
}

TEST_CASE("the same acl name on several lines is one ACL whose lines are ORed") {
    Proxy px;
    acl(px, {"bad", "src", "10.0.0.1"});
    acl(px, {"other", "src_port", "80"});
    acl(px, {"bad", "hdr_sub(User-Agent)", "-i", "curl", "wget"});
    REQUIRE(px.acls.size() == 2);
    REQUIRE(px.acls[0].exprs.size() == 2);
    CHECK(px.acls[0].exprs[1].fetch.id == FetchId::hdr);
    CHECK(px.acls[0].exprs[1].fetch.arg == "User-Agent");
    CHECK(px.acls[0].exprs[1].method == MatchMethod::sub);
    CHECK(px.acls[0].exprs[1].ignore_case);
    CHECK(px.acls[0].exprs[1].strings == std::vector<std::string>{"curl", "wget"});
    CHECK(px.acls[0].exprs[1].needs_http);
    CHECK_FALSE(px.acls[0].exprs[0].needs_http);
}

TEST_CASE("acl names allow letters, digits and . : _ - only") {
    Proxy px;
    acl(px, {"is-ok_1.a:b", "always_true"});
    CHECK(acl_error({"x!", "src", "1.2.3.4"}) == "character '!' is not permitted in acl name 'x!'");
    CHECK(acl_error({}) == "'acl' requires an ACL name");
    CHECK(acl_error({"x"}) == "missing fetch method in ACL expression '' for ACL 'x'");
}

TEST_CASE("unknown fetches, converters and bad argument lists are errors naming the expression") {
    const std::string p = "error detected while parsing ACL 'x' : ";
    CHECK(acl_error({"x", "foo(1)"}) == p + "unknown fetch method 'foo' in ACL expression 'foo(1)'");
    CHECK(acl_error({"x", "src,nope"}) == p + "unknown converter 'nope' in ACL expression 'src,nope'");
    CHECK(acl_error({"x", "src,"}) == p + "missing converter name after ',' in ACL expression 'src,'");
    CHECK(acl_error({"x", "nbsrv(be,x)", "1"}) ==
          p + "fetch method 'nbsrv' takes at most 1 argument (got 2) in ACL expression 'nbsrv(be,x)'");
    CHECK(acl_error({"x", "src(1)"}) == p + "fetch method 'src' takes no argument (got 1) in ACL expression 'src(1)'");
    CHECK(acl_error({"x", "srv_is_up"}) ==
          p + "fetch method 'srv_is_up' requires 1 argument (got 0) in ACL expression 'srv_is_up'");
    CHECK(acl_error({"x", "hdr(a,b)", "x"}) ==
          p + "fetch method 'hdr' : failed to parse 'b' as type 'integer' at position 2 in ACL expression 'hdr(a,b)'");
    CHECK(acl_error({"x", "hdr(a", "x"}) == p + "fetch method 'hdr' : expected ')' in ACL expression 'hdr(a'");
    CHECK(acl_error({"x", "hdr(a)x", "x"}) ==
          p + "fetch method 'hdr' : missing comma after 'hdr(a)' in ACL expression 'hdr(a)x'");
    CHECK(acl_error({"x", "src,lower(1)", "a"}) ==
          p + "converter 'lower' takes no argument (got 1) in ACL expression 'src,lower(1)'");
    CHECK(acl_error({"x", "src,map_ip", "a"}) ==
          p + "converter 'map_ip' requires at least 1 argument (got 0) in ACL expression 'src,map_ip'");
    CHECK(acl_error({"x", "src,geoip(a,b,c)", "a"}) ==
          p + "converter 'geoip' takes at most 2 arguments (got 3) in ACL expression 'src,geoip(a,b,c)'");
    CHECK(acl_error({"x", "ssl_fc,map_ip(f)", "a"}) ==
          p + "converter 'map_ip' cannot be applied to the boolean output of 'ssl_fc' in ACL expression 'ssl_fc,map_ip(f)'");
}

TEST_CASE("hdr takes an optional name and occurrence; nbsrv and be_conn an optional backend") {
    Proxy px;
    acl(px, {"a", "hdr(host,-1)", "x"});
    CHECK(px.acls[0].exprs[0].fetch.arg == "host");
    CHECK(px.acls[0].exprs[0].fetch.occ == -1);
    acl(px, {"b", "hdr", "x"});
    CHECK(px.acls[1].exprs[0].fetch.arg.empty());
    acl(px, {"c", "nbsrv", "lt", "1"});
    CHECK(px.acls[2].exprs[0].fetch.arg.empty());
    acl(px, {"d", "srv_is_up(be/s1)"});
    CHECK(px.acls[3].exprs[0].fetch.arg == "be/s1");
}

TEST_CASE("converters: the match method follows the last converter's type; map_ip and geoip mark uses_geo") {
    Proxy px;
    acl(px, {"a", "hdr_sub(User-Agent),lower", "curl"});   // HAProxy: exact match, not sub
    CHECK(px.acls[0].exprs[0].method == MatchMethod::str);
    REQUIRE(px.acls[0].exprs[0].converters.size() == 1);
    CHECK(px.acls[0].exprs[0].converters[0].id == ConverterId::lower);
    CHECK_FALSE(px.acls[0].exprs[0].uses_geo);
    acl(px, {"b", "src,map_ip(/etc/haproxy/geo.map,ZZ)", "NO"});
    const AclExpr& b = px.acls[1].exprs[0];
    CHECK(b.uses_geo);
    CHECK(b.method == MatchMethod::str);
    CHECK(b.strings == std::vector<std::string>{"NO"});
    REQUIRE(b.converters.size() == 1);
    CHECK(b.converters[0].args == std::vector<std::string>{"/etc/haproxy/geo.map", "ZZ"});
    acl(px, {"c", "src,geoip(country)", "-m", "str", "NO"});
    CHECK(px.acls[2].exprs[0].uses_geo);
    CHECK(acl_error({"x", "src,geoip()", "NO"}) ==
          "error detected while parsing ACL 'x' : converter 'geoip' requires at least 1 argument (got 0) in ACL "
          "expression 'src,geoip()'");
}

TEST_CASE("flags: -i, -n, -m and -- come before the values; a later '-word' is a value") {
    Proxy px;
    acl(px, {"a", "path", "-i", "-m", "beg", "/API", "-i"});
    const AclExpr& a = px.acls[0].exprs[0];
    CHECK(a.ignore_case);
    CHECK(a.method == MatchMethod::beg);
    CHECK(a.strings == std::vector<std::string>{"/API", "-i"});
    acl(px, {"b", "hdr(x)", "--", "-dash"});
    CHECK(px.acls[1].exprs[0].strings == std::vector<std::string>{"-dash"});
    acl(px, {"c", "src_port", "--", "-5"});   // HAProxy: "-5" is the range ":5"
    REQUIRE(px.acls[2].exprs[0].ints.size() == 1);
    CHECK(px.acls[2].exprs[0].ints[0].op == IntOp::le);
    CHECK(px.acls[2].exprs[0].ints[0].lo == 5);
    acl(px, {"d", "src", "-n", "10.0.0.0/8"});
    CHECK(px.acls[3].exprs[0].no_dns);
}

TEST_CASE("flag errors are HAProxy's messages") {
    const std::string p = "error detected while parsing ACL 'x' : ";
    CHECK(acl_error({"x", "src_port", "-5"}) ==
          p + "'-5' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'");
    CHECK(acl_error({"x", "src", "-m", "foo", "x"}) == p + "unknown matching method 'foo' when parsing ACL expression");
    CHECK(acl_error({"x", "src", "-m"}) == p + "unknown matching method '' when parsing ACL expression");
    CHECK(acl_error({"x", "path", "-m", "reg", "^/a"}) == p + "matching method 'reg' is not supported by skjold");
    CHECK(acl_error({"x", "ssl_fc", "-m", "ip", "1.2.3.4"}) ==
          p + "matching method 'ip' cannot be used with fetch keyword 'ssl_fc'");
    CHECK(acl_error({"x", "src", "-u", "1", "1.2.3.4"}) == p + "ACL option '-u' is not supported by skjold");
    CHECK(acl_error({"x", "src", "-f"}) == p + "missing file name after '-f'");
    TempFile f("10.0.0.0/8\n");
    auto v = w({"x", "src", "-f"});
    v.push_back(f.path);
    v.push_back("-m");
    v.push_back("ip");
    Proxy px;
    auto err = add_acl(px, v, kLoc);
    REQUIRE(err.has_value());
    CHECK(*err == p + "'-m' must only be specified before patterns and files in parsing ACL expression");
}

TEST_CASE("-m accepts HAProxy's casts: src as a string, nbsrv as text, hdr as an int or an address") {
    Proxy px;
    acl(px, {"a", "src", "-m", "str", "10.0.0.1"});
    acl(px, {"b", "nbsrv(be)", "-m", "sub", "1"});
    acl(px, {"c", "hdr(x-port)", "-m", "int", "80"});
    acl(px, {"d", "hdr(x-forwarded-for)", "-m", "ip", "10.0.0.0/8"});
    acl(px, {"e", "hdr(host)", "-m", "found"});
    acl(px, {"f", "hdr(host)", "-m", "len", "gt", "3"});
    acl(px, {"g", "hdr(host)", "-m", "dir", "api"});
    CHECK(px.acls[0].exprs[0].strings == std::vector<std::string>{"10.0.0.1"});
    CHECK(px.acls[2].exprs[0].ints.size() == 1);
    CHECK(px.acls[3].exprs[0].prefixes.size() == 1);
    CHECK(px.acls[4].exprs[0].method == MatchMethod::found);
    CHECK(px.acls[5].exprs[0].ints[0].op == IntOp::gt);
    CHECK(px.acls[6].exprs[0].method == MatchMethod::dir);
}

TEST_CASE("integer values: operators apply to the values after them; ranges ignore the operator") {
    Proxy px;
    acl(px, {"a", "src_port", "80", "gt", "1000", "lt", "10", "ne", "22", "eq", "10:20", "30-", ":5", "le", "7:9"});
    const auto& ints = px.acls[0].exprs[0].ints;
    REQUIRE(ints.size() == 8);
    CHECK((ints[0].op == IntOp::eq && ints[0].lo == 80 && ints[0].hi == 80));
    CHECK((ints[1].op == IntOp::gt && ints[1].lo == 1000));
    CHECK((ints[2].op == IntOp::lt && ints[2].lo == 10));
    CHECK((ints[3].op == IntOp::ne && ints[3].lo == 22));
    CHECK((ints[4].op == IntOp::eq && ints[4].lo == 10 && ints[4].hi == 20));
    CHECK((ints[5].op == IntOp::ge && ints[5].lo == 30));
    CHECK((ints[6].op == IntOp::le && ints[6].lo == 5));
    CHECK((ints[7].op == IntOp::eq && ints[7].lo == 7 && ints[7].hi == 9));
    // "le 7:9": a range with an operator is read as the range (HAProxy)
    acl(px, {"b", "src_port", "le", "7:9"});
    CHECK((px.acls[1].exprs[0].ints[0].op == IntOp::eq && px.acls[1].exprs[0].ints[0].lo == 7 &&
           px.acls[1].exprs[0].ints[0].hi == 9));
}

TEST_CASE("values that do not parse for the match method are errors") {
    const std::string p = "error detected while parsing ACL 'x' : ";
    CHECK(acl_error({"x", "src_port", "eq", "abc"}) == p + "'abc' is not a number");
    CHECK(acl_error({"x", "src_port", "+5"}) == p + "'+5' is not a number");
    CHECK(acl_error({"x", "src_port", "99999999999999999999"}) == p + "'99999999999999999999' is not a number");
    CHECK(acl_error({"x", "src_port", "5:3"}) == p + "'5:3' is not a valid number range");
    CHECK(acl_error({"x", "src_port", "1:x"}) == p + "'1:x' is not a valid number range");
    CHECK(acl_error({"x", "src_port", "lt", "x"}) == p + "'x' is neither a number nor a supported operator");
    CHECK(acl_error({"x", "src", "1.2.3.4/33"}) == p + "'1.2.3.4/33' is not a valid IPv4 or IPv6 address");
    CHECK(acl_error({"x", "src", "-n", "10.12"}) == p + "'10.12' is not a valid IPv4 or IPv6 address");
    CHECK(acl_error({"x", "hdr_len(host)", "abc"}) == p + "'abc' is not a number");
}

TEST_CASE("boolean fetches ignore their values and found ignores them too, as HAProxy does") {
    Proxy px;
    acl(px, {"a", "always_true", "0", "whatever"});
    CHECK(px.acls[0].exprs[0].method == MatchMethod::boolean);
    CHECK(px.acls[0].exprs[0].strings.empty());
    CHECK(px.acls[0].exprs[0].ints.empty());
    acl(px, {"b", "src_port", "-m", "found", "junk"});
    CHECK(px.acls[1].exprs[0].ints.empty());
}

TEST_CASE("-f reads the Norwegian prefix files into one matcher; repeated -f adds up") {
    Proxy px;
    auto v = w({"is_norway", "src", "-f"});
    v.push_back(testdata("no-v4.cidr"));
    v.push_back("-f");
    v.push_back(testdata("no-v6.cidr"));
    v.push_back("127.0.0.1");
    REQUIRE_FALSE(add_acl(px, v, kLoc).has_value());
    const AclExpr& e = only_expr(px);
    CHECK(e.prefixes.size() == 1213 + 460 + 1);
    CHECK(e.ip_matcher.contains(*skjold::geo::parse_ip("2.148.0.1")));
    CHECK(e.ip_matcher.contains(*skjold::geo::parse_ip("2001:678:f0::1")));
    CHECK(e.ip_matcher.contains(*skjold::geo::parse_ip("127.0.0.1")));
    CHECK_FALSE(e.ip_matcher.contains(*skjold::geo::parse_ip("8.8.8.8")));
}

TEST_CASE("-f errors: a missing file, and every malformed line with FILE:LINE") {
    const std::string p = "error detected while parsing ACL 'x' : ";
    CHECK(acl_error({"x", "src", "-f", "/nonexistent/no.txt"})
              .rfind(p + "failed to open pattern file </nonexistent/no.txt>", 0) == 0);
    TempFile f("10.0.0.0/8\n1.2.3.4.5\n10.0.0.0/40\n");
    auto v = w({"x", "src", "-f"});
    v.push_back(f.path);
    Proxy px;
    auto err = add_acl(px, v, kLoc);
    REQUIRE(err.has_value());
    CHECK(*err == p + f.path + ":2: '1.2.3.4.5' is not a valid IPv4 or IPv6 address; " + f.path +
                       ":3: '10.0.0.0/40' is not a valid IPv4 or IPv6 address");
    TempFile ints("80\nx\n");
    auto vi = w({"x", "dst_port", "-f"});
    vi.push_back(ints.path);
    err = add_acl(px, vi, kLoc);
    REQUIRE(err.has_value());
    CHECK(*err == p + ints.path + ":2: 'x' is not a number");
}

TEST_CASE("-f for strings keeps each line as one pattern, spaces included") {
    TempFile f("# bots\ncurl\n  Wget \nGo-http-client\n");
    auto v = w({"bot", "hdr(User-Agent)", "-i", "-m", "beg", "-f"});
    v.push_back(f.path);
    Proxy px;
    REQUIRE_FALSE(add_acl(px, v, kLoc).has_value());
    CHECK(only_expr(px).strings == std::vector<std::string>{"curl", "Wget ", "Go-http-client"});
}

TEST_CASE("conditions: implicit AND, || and or (any case) start a new group, ! negates one term") {
    Proxy px;
    acl(px, {"a", "always_true"});
    acl(px, {"b", "always_false"});
    acl(px, {"c", "src", "10.0.0.1"});
    Condition c = cond(px, {"if", "a", "!b", "||", "c", "or", "!", "a", "OR", "!!c"});
    CHECK(c.present);
    CHECK_FALSE(c.unless);
    REQUIRE(c.any_of.size() == 4);
    REQUIRE(c.any_of[0].size() == 2);
    CHECK((c.any_of[0][0].acl == 0 && !c.any_of[0][0].negate));
    CHECK((c.any_of[0][1].acl == 1 && c.any_of[0][1].negate));
    CHECK((c.any_of[1].size() == 1 && c.any_of[1][0].acl == 2 && !c.any_of[1][0].negate));
    CHECK((c.any_of[2].size() == 1 && c.any_of[2][0].acl == 0 && c.any_of[2][0].negate));   // "! a"
    CHECK((c.any_of[3].size() == 1 && c.any_of[3][0].acl == 2 && !c.any_of[3][0].negate));  // "!!c"
    Condition u = cond(px, {"unless", "a"});
    CHECK(u.unless);
}

TEST_CASE("anonymous ACLs between { and } become unnamed ACLs of the proxy") {
    Proxy px;
    Condition c = cond(px, {"if", "!", "{", "src", "127.0.0.2", "}", "{", "dst_port", "80", "}"});
    REQUIRE(px.acls.size() == 2);
    CHECK(px.acls[0].name.empty());
    CHECK(px.acls[0].exprs[0].prefixes[0].to_string() == "127.0.0.2/32");
    REQUIRE(c.any_of.size() == 1);
    REQUIRE(c.any_of[0].size() == 2);
    CHECK(c.any_of[0][0].negate);
    CHECK(c.any_of[0][1].acl == 1);
    // two identical anonymous ACLs are never merged
    cond(px, {"if", "{", "src", "127.0.0.2", "}"});
    CHECK(px.acls.size() == 3);
}

TEST_CASE("condition errors are HAProxy's messages") {
    Proxy px;
    acl(px, {"x", "always_true"});
    CHECK(cond_error(px, {"x"}) == "conditions must start with either 'if' or 'unless'");
    CHECK(cond_error(px, {"if", "x", "y"}) == "no such ACL : 'y'");
    CHECK(cond_error(px, {"if", "{src", "1.2.3.4", "}"}) == "no such ACL : '{src'");
    CHECK(cond_error(px, {"if", "{", "src", "1.2.3.4"}) == "missing closing '}' in condition");
    CHECK(cond_error(px, {"if", "{", "foo", "}"}) ==
          "error detected while parsing anonymous ACL : unknown fetch method 'foo' in ACL expression 'foo'");
    CHECK(cond_error(px, {"if", "{", "}"}) ==
          "error detected while parsing anonymous ACL : missing fetch method in ACL expression ''");
}

TEST_CASE("an empty if or a trailing or is accepted as HAProxy accepts it") {
    Proxy px;
    Condition c = cond(px, {"if"});
    CHECK(c.present);
    CHECK(c.any_of.empty());
    acl(px, {"x", "always_true"});
    Condition d = cond(px, {"if", "x", "or"});
    CHECK(d.any_of.size() == 1);
}

TEST_CASE("predefined ACLs are instantiated once on first use and a user ACL of that name wins") {
    Proxy px;
    cond(px, {"if", "TRUE", "LOCALHOST"});
    REQUIRE(px.acls.size() == 2);
    CHECK(px.acls[0].name == "TRUE");
    CHECK(px.acls[0].exprs[0].fetch.id == FetchId::always_true);
    CHECK(px.acls[1].name == "LOCALHOST");
    CHECK(px.acls[1].exprs[0].ip_matcher.contains(*skjold::geo::parse_ip("127.9.9.9")));
    CHECK(px.acls[1].exprs[0].ip_matcher.contains(*skjold::geo::parse_ip("::1")));
    cond(px, {"if", "LOCALHOST", "||", "FALSE", "METH_GET", "HTTP_URL_SLASH"});
    CHECK(px.acls.size() == 5);
    CHECK(px.acls[3].exprs[0].strings == std::vector<std::string>{"GET", "HEAD"});
    CHECK(cond_error(px, {"if", "HTTP_1.1"}) == "no such ACL : 'HTTP_1.1'");

    Proxy own;
    acl(own, {"TRUE", "always_false"});
    Condition c = cond(own, {"if", "TRUE"});
    CHECK(own.acls.size() == 1);
    CHECK(own.acls[0].exprs[0].fetch.id == FetchId::always_false);
    CHECK(c.any_of[0][0].acl == 0);
}

namespace {

Snapshot snapshot_with(std::initializer_list<std::initializer_list<const char*>> fe_acls) {
    Snapshot s;
    Proxy fe;
    fe.name = "fe";
    fe.is_frontend = true;
    for (auto a : fe_acls) {
        auto v = w(a);
        auto err = add_acl(fe, v, kLoc);
        REQUIRE_MESSAGE(!err.has_value(), (err ? *err : std::string()));
    }
    Proxy be;
    be.name = "be";
    be.is_backend = true;
    be.servers.resize(2);
    be.servers[0].name = "s1";
    be.servers[1].name = "s2";
    Proxy li;
    li.name = "li";
    li.is_frontend = li.is_backend = true;
    li.servers.resize(1);
    li.servers[0].name = "only";
    {
        auto v = w({"own", "srv_is_up(only)"});
        REQUIRE_FALSE(add_acl(li, v, kLoc).has_value());
        auto v2 = w({"mine", "nbsrv", "lt", "1"});
        REQUIRE_FALSE(add_acl(li, v2, kLoc).has_value());
    }
    s.proxies.push_back(std::move(fe));
    s.proxies.push_back(std::move(be));
    s.proxies.push_back(std::move(li));
    return s;
}

}  // namespace

TEST_CASE("resolve_conditions resolves backends, servers and frontends to indexes") {
    Snapshot s = snapshot_with({{"a", "nbsrv(be)", "lt", "1"},
                                {"b", "srv_is_up(be/s2)"},
                                {"c", "be_conn(li)", "gt", "10"},
                                {"d", "fe_conn", "gt", "10"},
                                {"e", "fe_conn(li)", "gt", "10"}});
    std::vector<std::string> errors;
    resolve_conditions(s, errors);
    CHECK(errors.empty());
    const auto& acls = s.proxies[0].acls;
    CHECK(acls[0].exprs[0].fetch.backend == 1);
    CHECK(acls[1].exprs[0].fetch.backend == 1);
    CHECK(acls[1].exprs[0].fetch.server == 1);
    CHECK(acls[2].exprs[0].fetch.backend == 2);
    CHECK(acls[3].exprs[0].fetch.backend == 0);   // fe_conn without argument: this frontend
    CHECK(acls[4].exprs[0].fetch.backend == 2);
    const auto& li = s.proxies[2].acls;
    CHECK(li[0].exprs[0].fetch.backend == 2);      // srv_is_up(SERVER): this proxy's server
    CHECK(li[0].exprs[0].fetch.server == 0);
    CHECK(li[1].exprs[0].fetch.backend == 2);      // nbsrv without argument: this backend
}

TEST_CASE("resolve_conditions reports unknown backends and servers with FILE:LINE") {
    Snapshot s = snapshot_with({{"a", "nbsrv(nope)", "lt", "1"},
                                {"b", "srv_is_up(be/s9)"},
                                {"c", "srv_is_up(s1)"},
                                {"d", "nbsrv", "lt", "1"},
                                {"e", "be_conn(fe)", "gt", "1"},
                                {"f", "fe_conn(be)", "gt", "1"},
                                {"g", "srv_is_up(nope/s1)"}});
    std::vector<std::string> errors;
    resolve_conditions(s, errors);
    REQUIRE(errors.size() == 7);
    CHECK(errors[0] == "test.cfg:7: unable to find backend 'nope' referenced in arg 1 of ACL keyword 'nbsrv' in proxy 'fe'");
    CHECK(errors[1] == "test.cfg:7: unable to find server 's9' in proxy 'be', referenced in arg 1 of ACL keyword "
                       "'srv_is_up' in proxy 'fe'");
    CHECK(errors[2] == "test.cfg:7: unable to find backend 'fe' referenced in arg 1 of ACL keyword 'srv_is_up' in proxy 'fe'");
    CHECK(errors[3] == "test.cfg:7: proxy 'fe', referenced in arg 1 of ACL keyword 'nbsrv' in proxy 'fe', is not a backend");
    CHECK(errors[4] == "test.cfg:7: proxy 'fe', referenced in arg 1 of ACL keyword 'be_conn' in proxy 'fe', is not a backend");
    CHECK(errors[5] == "test.cfg:7: proxy 'be', referenced in arg 1 of ACL keyword 'fe_conn' in proxy 'fe', is not a frontend");
    CHECK(errors[6] == "test.cfg:7: unable to find backend 'nope' referenced in arg 1 of ACL keyword 'srv_is_up' in proxy 'fe'");
}
