// Time, size and integer syntaxes (HAProxy configuration.txt 2.5), and names.
#include <doctest/doctest.h>

#include "conf/values.hh"

using namespace skjold::conf;

TEST_CASE("times take us, ms, s, m, h and d and a bare number is milliseconds") {
    CHECK(*parse_time("100ms") == 100);
    CHECK(*parse_time("2s") == 2000);
    CHECK(*parse_time("5m") == 300000);
    CHECK(*parse_time("1h") == 3600000);
    CHECK(*parse_time("1d") == 86400000);
    CHECK(*parse_time("2000") == 2000);
    CHECK(*parse_time("0") == 0);
    CHECK(*parse_time("24d") == 24 * 86400000LL);
    CHECK(*parse_time("2147483647") == 2147483647);
}

TEST_CASE("microseconds round up to the next millisecond") {
    CHECK(*parse_time("10us") == 1);
    CHECK(*parse_time("1500us") == 2);
    CHECK(*parse_time("2000us") == 2);
    CHECK(*parse_time("0us") == 0);
}

TEST_CASE("a bare time can be read in seconds when the keyword says so") {
    CHECK(*parse_time("300", 1000) == 300000);
    CHECK(*parse_time("300ms", 1000) == 300);
}

TEST_CASE("junk, signs, fractions and overflow in times are rejected with the offending character") {
    CHECK(parse_time("5x").error() == "unexpected character 'x' in '5x'");
    CHECK(parse_time("-1").error() == "unexpected character '-' in '-1'");
    CHECK(parse_time("1.5s").error() == "unexpected character '.' in '1.5s'");
    CHECK(parse_time("1S").error() == "unexpected character 'S' in '1S'");
    CHECK(parse_time("ms").error() == "unexpected character 'm' in 'ms'");
    CHECK(parse_time("5sx").error() == "unexpected character 'x' in '5sx'");
    CHECK(parse_time("5msx").error() == "unexpected character 'x' in '5msx'");
    CHECK(parse_time("").error() == "expects a time (e.g. 500ms, 2s, 5m)");
    CHECK(parse_time("2147483648").error() ==
          "timer overflow in '2147483648' (maximum value is 2147483647 ms or ~24.8 days)");
    CHECK(!parse_time("25d").has_value());
    CHECK(!parse_time("99999999999999999999999").has_value());
    CHECK(!parse_time("3000000", 1000).has_value());
}

TEST_CASE("sizes take k, m and g as powers of 1024 and a bare number is bytes") {
    CHECK(*parse_size("16384", 1ull << 40) == 16384);
    CHECK(*parse_size("16k", 1ull << 40) == 16384);
    CHECK(*parse_size("16K", 1ull << 40) == 16384);
    CHECK(*parse_size("1m", 1ull << 40) == 1048576);
    CHECK(*parse_size("1g", 1ull << 40) == 1073741824);
    CHECK(parse_size("16kb", 1ull << 40).error() == "unexpected character 'b' in '16kb'");
    CHECK(parse_size("16x", 1ull << 40).error() == "unexpected character 'x' in '16x'");
    CHECK(parse_size("-1", 1ull << 40).error() == "unexpected character '-' in '-1'");
    CHECK(parse_size("2g", 1ull << 30).error() == "size '2g' is larger than 1073741824");
    CHECK(!parse_size("99999999999999999999999", UINT64_MAX).has_value());
}

TEST_CASE("integers are decimal, in range, without junk") {
    CHECK(*parse_int("0", 0, 256) == 0);
    CHECK(*parse_int("256", 0, 256) == 256);
    CHECK(*parse_int("-5", -10, 10) == -5);
    CHECK(parse_int("257", 0, 256).error() == "'257' is not an integer between 0 and 256");
    CHECK(!parse_int("-1", 0, 256).has_value());
    CHECK(!parse_int("1x", 0, 256).has_value());
    CHECK(!parse_int("", 0, 256).has_value());
    CHECK(!parse_int("99999999999999999999", 0, 256).has_value());
}

TEST_CASE("proxy names and header names") {
    CHECK(is_valid_name("be_primary-1.oslo:a"));
    CHECK(!is_valid_name("bad name"));
    CHECK(!is_valid_name("a/b"));
    CHECK(!is_valid_name(""));
    CHECK(is_valid_header_name("X-Forwarded-For"));
    CHECK(!is_valid_header_name("X Forwarded"));
    CHECK(!is_valid_header_name("X:y"));
    CHECK(!is_valid_header_name(""));
}
