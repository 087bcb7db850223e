#include "geo/table_stats.hh"

#include <algorithm>
#include <cstdio>

namespace skjold::geo {

bool TableStats::add(const PrefixTable& t) {
    const void* id = t.identity();
    if (!id || std::find(seen_.begin(), seen_.end(), id) != seen_.end()) return false;
    seen_.push_back(id);
    ++tables;
    prefixes += t.size();
    bytes += t.memory_bytes();
    return true;
}

bool TableStats::add(const IpMatcher& m) {
    if (!add(m.table())) return false;   // never built, or shared and counted with its patterns
    prefixes += m.masked_count();
    bytes += m.memory_bytes() - m.table().memory_bytes();
    return true;
}

bool TableStats::add(const ValueTable& v) {
    if (!add(v.table)) return false;
    bytes += v.values.capacity() * sizeof(std::string);
    for (const auto& s : v.values)
        if (s.capacity() > std::string().capacity()) bytes += s.capacity() + 1;   // beyond the inline buffer
    return true;
}

std::vector<std::pair<std::string_view, std::uint64_t>> TableStats::info_fields() const {
    return {{"Skjold_geo_tables", tables}, {"Skjold_geo_prefixes", prefixes}, {"Skjold_geo_bytes", bytes}};
}

std::string human_bytes(std::size_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%zu B", bytes);
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace skjold::geo
