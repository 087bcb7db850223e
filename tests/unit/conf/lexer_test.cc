// The lexer against HAProxy 2.6's quoting rules. Expected words were checked with
// `haproxy -c` on the same lines (unknown-keyword errors echo the first word).
#include <doctest/doctest.h>

#include <map>

#include "conf/lexer.hh"

using skjold::conf::ConfLine;
using skjold::conf::Diagnostic;
using skjold::conf::Lexer;

namespace {

Lexer make_lexer() {
    static const std::map<std::string, std::string> env = {
        {"FOO", "foo"}, {"LIST", "1 2  3"}, {"EMPTY", ""}, {"SP", "a b"}};
    return Lexer("f.cfg", [](const std::string& n) -> std::optional<std::string> {
        auto it = env.find(n);
        if (it == env.end()) return std::nullopt;
        return it->second;
    });
}

std::vector<std::string> words(std::string_view line) {
    Lexer lx = make_lexer();
    std::vector<std::string> out;
    auto err = lx.split(line, 1, out);
    INFO("line: " << line << " error: " << err.value_or("-"));
    REQUIRE(!err.has_value());
    return out;
}

std::string error_of(std::string_view line) {
    Lexer lx = make_lexer();
    std::vector<std::string> out;
    auto err = lx.split(line, 1, out);
    REQUIRE(err.has_value());
    return *err;
}

using W = std::vector<std::string>;

}  // namespace

TEST_CASE("spaces and tabs separate words and runs of them count once") {
    CHECK(words("  bind\t *:80   ssl ") == W{"bind", "*:80", "ssl"});
    CHECK(words("").empty());
    CHECK(words(" \t ").empty());
}

TEST_CASE("an unprotected hash starts a comment, also glued to a word") {
    CHECK(words("maxconn 10 # the limit") == W{"maxconn", "10"});
    CHECK(words("abc#def") == W{"abc"});
    CHECK(words("# only a comment").empty());
    CHECK(words("\"ab\"#c") == W{"ab"});
}

TEST_CASE("backslash escapes outside quotes") {
    CHECK(words("a\\ b") == W{"a b"});
    CHECK(words("c\\#d") == W{"c#d"});
    CHECK(words("x\\\\y") == W{"x\\y"});
    CHECK(words("\\'q\\\"") == W{"'q\""});
    CHECK(words("\\t|\\n|\\r") == W{"\t|\n|\r"});
    CHECK(words("\\x41\\x7a") == W{"Az"});
}

TEST_CASE("unknown escapes, an unquoted \\$ and a trailing backslash stay as written (HAProxy 2.6)") {
    CHECK(words("\\q") == W{"\\q"});
    CHECK(words("e\\$f") == W{"e\\$f"});
    CHECK(words("a\\") == W{"a\\"});
}

TEST_CASE("single quotes keep everything, backslashes and dollars included") {
    CHECK(words("'a b # c'") == W{"a b # c"});
    CHECK(words("'\\x41 $FOO \\'") == W{"\\x41 $FOO \\"});
}

TEST_CASE("double quotes keep spaces, hashes and single quotes and still honour escapes") {
    CHECK(words("\"a b # c 'd'\"") == W{"a b # c 'd'"});
    CHECK(words("\"a\\\"b\"") == W{"a\"b"});
    CHECK(words("\"e\\$f\"") == W{"e$f"});
    CHECK(words("\"\\x20\"") == W{" "});
    CHECK(words("\"\\t|\"") == W{"\t|"});
}

TEST_CASE("quoted parts join adjacent text and an empty pair is one empty word") {
    CHECK(words("\"a\"'b'c") == W{"abc"});
    CHECK(words("x\"a b\"y") == W{"xa by"});
    CHECK(words("\"x\"\\ \"y\"") == W{"x y"});
    CHECK(words("k \"\" v") == W{"k", "", "v"});
}

TEST_CASE("environment variables expand inside double quotes only") {
    CHECK(words("\"$FOO\"") == W{"foo"});
    CHECK(words("\"x$FOO y\"") == W{"xfoo y"});
    CHECK(words("\"${FOO}bar\"") == W{"foobar"});
    CHECK(words("$FOO ${FOO}") == W{"$FOO", "${FOO}"});   // unquoted: kept (verified with haproxy 2.6)
    CHECK(words("'$FOO'") == W{"$FOO"});
    CHECK(words("$") == W{"$"});
}

TEST_CASE("unset variables are empty, defaults apply to unset ones only, and names stop at other characters") {
    CHECK(words("k \"$UNSET\" v") == W{"k", "", "v"});
    CHECK(words("\"${UNSET-def}\"") == W{"def"});
    CHECK(words("\"${UNSET-x y}\"") == W{"x y"});
    CHECK(words("\"${EMPTY-def}\"") == W{""});
    CHECK(words("\"$FOO.x\"") == W{"foo.x"});
    CHECK(words("\"$UNSET-x\"") == W{"-x"});
}

TEST_CASE("a variable with spaces stays one word unless expanded with [*]") {
    CHECK(words("\"$SP\"") == W{"a b"});
    CHECK(words("k \"${LIST[*]}\"") == W{"k", "1", "2", "3"});
    CHECK(words("\"a${LIST[*]}x\"") == W{"a1", "2", "3x"});
}

TEST_CASE("pseudo-variables name the file, the line and the section") {
    Lexer lx = make_lexer();
    std::vector<ConfLine> lines;
    std::vector<Diagnostic> errs;
    lx.lex("frontend web\n  x \"${.FILE}:${.LINE}\" \"$.SECTION\"\nglobal\n  y \"$.SECTION\"\n", lines, errs);
    REQUIRE(errs.empty());
    REQUIRE(lines.size() == 4);
    CHECK(lines[1].words == W{"x", "f.cfg:2", "web"});
    CHECK(lines[3].words == W{"y", "global"});
}

TEST_CASE("lexing errors") {
    CHECK(error_of("\"abc") == "unmatched quote");
    CHECK(error_of("'abc") == "unmatched quote");
    CHECK(error_of("\"a\\\"") == "unmatched quote");
    CHECK(error_of("\\x4") == "truncated or invalid hexadecimal sequence at position 1");
    CHECK(error_of("ab \\xzz") == "truncated or invalid hexadecimal sequence at position 4");
    CHECK(error_of("\\x00") == "\\x00 (a NUL byte) is not allowed at position 1");
    CHECK(error_of("\"$\"") == "forbidden first char in environment variable name at position 3");
    CHECK(error_of("\"$1abc\"") == "forbidden first char in environment variable name at position 3");
    CHECK(error_of("\"${-x}\"") == "forbidden first char in environment variable name at position 4");
    CHECK(error_of("\"${FOO\"") == "unmatched brace in environment variable name at position 2");
    CHECK(error_of("\"${FOO?}\"") == "invalid character in environment variable name at position 7");
}

TEST_CASE("lex keeps each line's number, skips empty lines and reports errors with their line") {
    Lexer lx = make_lexer();
    std::vector<ConfLine> lines;
    std::vector<Diagnostic> errs;
    lx.lex("global\n\n  # comment\n  maxconn 10\r\n  bad \"quote\n  daemon", lines, errs);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].loc.line == 1);
    CHECK(lines[1].loc.line == 4);
    CHECK(lines[1].words == W{"maxconn", "10"});   // CRLF line ends are accepted
    CHECK(lines[2].loc.line == 6);
    CHECK(lines[2].loc.file == "f.cfg");
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].str() == "f.cfg:5: unmatched quote");
}

TEST_CASE("without a lookup function the process environment is used") {
    ::setenv("SKJOLD_LEXER_TEST_VAR", "from-env", 1);
    Lexer lx("e.cfg");
    std::vector<std::string> out;
    REQUIRE(!lx.split("\"$SKJOLD_LEXER_TEST_VAR\"", 1, out));
    CHECK(out == W{"from-env"});
    ::unsetenv("SKJOLD_LEXER_TEST_VAR");
}
