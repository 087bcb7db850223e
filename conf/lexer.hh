#pragma once
// Cuts configuration text into lines of words, as HAProxy 2.6 does (configuration.txt 2.2
// "Quoting and escaping", 2.3 "Environment variables"; behaviour checked against haproxy 2.6 -c):
//  - space/tab separate words; an unprotected `#` starts a comment; `\r` ends the line;
//  - outside quotes `\ ` `\#` `\\` `\'` `\"` give the character, `\n` `\r` `\t` `\xNN` give the
//    control character; any other `\c` stays as written (so `\$` stays `\$`), a trailing `\` too;
//  - '...' keeps everything as written; "..." allows the same escapes plus `\$`, and expands
//    `$NAME`, `${NAME}`, `${NAME-default}` and `${NAME[*]}` (one word per space-separated
//    value), with the pseudo-variables `.FILE`, `.LINE`, `.SECTION`. HAProxy 2.6 expands
//    variables only inside double quotes: unquoted `$HOME` stays `$HOME` (verified);
//  - quotes join with adjacent text (`"a"'b'c` is `abc`); `""` is one empty word;
//  - an unterminated quote, a bad `\x`, `$` followed by a forbidden character, or an
//    unterminated `${` is an error for that line (the line is dropped).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diagnostic.hh"
#include "conf/snapshot_types.hh"

namespace skjold::conf {

// One non-empty statement: its words after quote removal, escapes and expansion.
struct ConfLine {
    SourceLoc loc;
    std::vector<std::string> words;
};

class Lexer {
public:
    // Returns the value of an environment variable, nullopt when it is not set.
    using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

    // `env` empty: the process environment (getenv).
    explicit Lexer(std::string file, EnvLookup env = {});

    // Splits one physical line (without its '\n'). Appends the words to `out`; returns an error
    // message (without FILE:LINE) or nullopt.
    std::optional<std::string> split(std::string_view line, int lineno, std::vector<std::string>& out);

    // Splits a whole file. Empty and comment-only lines produce nothing.
    void lex(std::string_view text, std::vector<ConfLine>& lines, std::vector<Diagnostic>& errors);

private:
    std::optional<std::string> lookup(const std::string& name, int lineno) const;

    std::string file_;
    EnvLookup env_;
    std::string section_;   // for ${.SECTION}: the name (or type) of the last section line
};

}  // namespace skjold::conf
