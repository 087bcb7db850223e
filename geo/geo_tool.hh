#pragma once
// `skjold geo ...`: operator tools over the geo sources (control plane, run once and exit).
//   skjold geo lookup [--db FILE]... [--list FILE]... [--field FIELD] ADDRESS...
//   skjold geo export --db FILE --country CC [--ipv4|--ipv6] [--field FIELD]
//   skjold geo stats [--list FILE]... [--map FILE]... [--db FILE]... [--field FIELD]
// Exit status: 0 done, 1 a file could not be read (the message names it), 2 usage error.
// Owner: the geo "mmdb" helper. proxy/main.cc hands `skjold geo ...` over to geo_tool_main().

#include <iosfwd>
#include <string>
#include <vector>

#include "geo/address.hh"

namespace skjold::geo {

// argv[0] is "geo"; prints to stdout/stderr.
int geo_tool_main(int argc, char** argv);

// The same, with the streams given (tests). args[0] is "geo".
int geo_tool_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Sorted, without prefixes inside others, and with sibling halves joined into their parent
// (10.0.0.0/25 + 10.0.0.128/25 -> 10.0.0.0/24), never across the IPv4 boundary ::ffff:0:0/96.
std::vector<Prefix> merge_prefixes(std::vector<Prefix> prefixes);

}  // namespace skjold::geo
