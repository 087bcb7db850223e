// -f pattern files: HAProxy's line rules and one error per malformed line with its number.
#include <doctest/doctest.h>

#include "tests/unit/temp_file.hh"

#include <fstream>
#include <string>

#include <stdlib.h>
#include <unistd.h>

#include "geo/pattern_file.hh"

using namespace skjold::geo;

namespace {

using skjold::test::TempFile;

}  // namespace

TEST_CASE("pattern lines: column-0 comments and blank lines skipped, leading blanks stripped, CR ends a line") {
    TempFile f("# a comment\n\n  10.0.0.0/8\n\tabc def \r\n   \n  # not a comment\nlast");
    auto lines = read_pattern_lines(f.path);
    REQUIRE(lines.has_value());
    REQUIRE(lines->size() == 4);
    CHECK((*lines)[0].line == 3);
    CHECK((*lines)[0].text == "10.0.0.0/8");
    CHECK((*lines)[1].line == 4);
    CHECK((*lines)[1].text == "abc def ");           // trailing blank kept for string patterns
    CHECK((*lines)[2].text == "# not a comment");    // HAProxy: only column 0 starts a comment
    CHECK((*lines)[3].line == 7);
    CHECK((*lines)[3].text == "last");
    auto trimmed = read_pattern_lines(f.path, Trailing::trim);
    REQUIRE(trimmed.has_value());
    CHECK((*trimmed)[1].text == "abc def");
}

TEST_CASE("a missing pattern file is an error naming it") {
    auto lines = read_pattern_lines("/nonexistent/skjold/patterns.txt");
    REQUIRE_FALSE(lines.has_value());
    CHECK(lines.error().detail.rfind("failed to open pattern file </nonexistent/skjold/patterns.txt>", 0) == 0);
    auto set = load_ip_patterns("/nonexistent/skjold/patterns.txt");
    REQUIRE_FALSE(set.has_value());
    REQUIRE(set.error().size() == 1);
    CHECK(set.error()[0].rfind("failed to open pattern file", 0) == 0);
}

TEST_CASE("an IP pattern file reports every malformed line as FILE:LINE") {
    TempFile f("10.0.0.0/8\nnot-an-ip\n# fine\n192.168.1/22\n10.0.0.0/33\n  1.2.3.4  \n  # indented\n");
    auto set = load_ip_patterns(f.path);
    REQUIRE_FALSE(set.has_value());
    const auto& e = set.error();
    REQUIRE(e.size() == 3);
    CHECK(e[0].rfind(f.path + ":2: 'not-an-ip' is not a valid IPv4 or IPv6 address", 0) == 0);
    CHECK(e[1] == f.path + ":5: '10.0.0.0/33' is not a valid IPv4 or IPv6 address");
    CHECK(e[2] == f.path + ":7: '# indented' is not a valid IPv4 or IPv6 address");
}

TEST_CASE("an IP pattern file mixes IPv4, IPv6, short forms and masked entries") {
    TempFile f("10.12\n192.168.1/22\n2001:db8::/32\n::ffff:11.0.0.0/104\n20.0.0.1/255.0.255.0\n1.2.3.4   \r\n");
    auto set = load_ip_patterns(f.path);
    REQUIRE(set.has_value());
    REQUIRE(set->prefixes.size() == 5);
    CHECK(set->prefixes[0].to_string() == "10.0.0.12/32");
    CHECK(set->prefixes[1].to_string() == "192.168.0.0/22");
    CHECK(set->prefixes[2].to_string() == "2001:db8::/32");
    CHECK(set->prefixes[3].to_string() == "11.0.0.0/8");
    CHECK(set->prefixes[4].to_string() == "1.2.3.4/32");   // trailing blanks trimmed for IPs
    REQUIRE(set->masked.size() == 1);
    CHECK(set->masked[0].to_string() == "20.0.0.0/255.0.255.0");
}

TEST_CASE("with -n a pattern file refuses short forms") {
    TempFile f("10.0.0.0/8\n10.12\n");
    auto set = load_ip_patterns(f.path, NameLookup::none);
    REQUIRE_FALSE(set.has_value());
    REQUIRE(set.error().size() == 1);
    CHECK(set.error()[0] == f.path + ":2: '10.12' is not a valid IPv4 or IPv6 address");
}
