#pragma once
// Pattern files given to ACLs with `-f FILE` (control plane only; read at load).
// Owner: the conditions helper. Line rules are HAProxy's pat_ref_read_from_file():
//   - a line whose FIRST character is '#' is a comment ("  # x" is a pattern, as in HAProxy);
//   - leading spaces and tabs are skipped; the pattern ends at the first CR or LF;
//   - empty lines are skipped; spaces inside a pattern are part of it.
// HAProxy keeps trailing blanks in the pattern (so an IP line "10.0.0.0/8 " is an error there);
// for IP patterns skjold trims them (Trailing::trim), for string patterns it keeps them.

#include <string>
#include <vector>

#include "core/result.hh"
#include "geo/address.hh"

namespace skjold::geo {

struct PatternLine {
    int line = 0;          // 1-based line number in the file
    std::string text;
};

enum class Trailing : std::uint8_t { keep, trim };

// Reads every pattern line. Error: "failed to open pattern file <PATH>: strerror".
core::Result<std::vector<PatternLine>> read_pattern_lines(const std::string& path,
                                                          Trailing trailing = Trailing::keep);

struct IpPatternSet {
    std::vector<Prefix> prefixes;
    std::vector<MaskedV4> masked;          // non-contiguous IPv4 masks (rare)
};

// Reads an IP pattern file. On failure, one message per malformed line, each
// "PATH:LINE: '...' is not a valid IPv4 or IPv6 address" (or the open error alone).
core::Result<IpPatternSet, std::vector<std::string>> load_ip_patterns(const std::string& path,
                                                                      NameLookup lookup = NameLookup::libc_numeric);

}  // namespace skjold::geo
