#pragma once
// The contract between the geo helpers (issue #4). Owner of the implementation:
//   geo/prefix_table.{hh,cc}: the longest-prefix-match table (geo helper "table").
//   geo/mmdb.{hh,cc}: MaxMind import into a ValueTable (geo helper "mmdb").
// A ValueTable maps every address to at most one small value id, the value of the most specific
// prefix that contains it; ids index `values` (a country code, a map value, a pattern-set id).

#include <cstdint>
#include <string>
#include <vector>

#include "geo/prefix_table.hh"

namespace skjold::geo {

struct ValueTable {
    PrefixTable table;                 // address -> value id, or PrefixTable::kNone
    std::vector<std::string> values;   // id -> text
    std::size_t networks = 0;          // prefixes loaded (for reports)
};

}  // namespace skjold::geo
