#pragma once
// How big the geo tables of a configuration are: for `show info` (skjold's own lines) and
// `skjold geo stats`. Control plane only. A table that several holders share (copies of a
// PrefixTable share the built memory) is counted once; a default-constructed one (never built,
// holding nothing) not at all. Every holder must stay alive until the report is done: tables are
// told apart by address.
// Owner: the geo helper. The stats side gathers a Snapshot's tables: every `ip` ACL expression's
// IpMatcher (src/dst patterns and -f files) and every Snapshot::geo_tables entry (map_ip, geoip).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "geo/ip_matcher.hh"
#include "geo/prefix_table.hh"
#include "geo/value_table.hh"

namespace skjold::geo {

class TableStats {
public:
    std::size_t tables = 0;     // distinct built tables
    std::size_t prefixes = 0;   // distinct prefixes in them (plus non-contiguous masked patterns)
    std::size_t bytes = 0;      // memory they hold: table pages, masked patterns, value strings

    // Each returns false (and adds nothing) for a table never built or one already counted.
    bool add(const PrefixTable& t);
    bool add(const IpMatcher& m);
    bool add(const ValueTable& v);

    // `show info` lines, in this order: Skjold_geo_tables, Skjold_geo_prefixes, Skjold_geo_bytes.
    std::vector<std::pair<std::string_view, std::uint64_t>> info_fields() const;

private:
    std::vector<const void*> seen_;
};

// "1.5 MiB", "812.0 KiB", "96 B": sizes as the man pages and tools print them.
std::string human_bytes(std::size_t bytes);

}  // namespace skjold::geo
