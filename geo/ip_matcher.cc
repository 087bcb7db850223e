#include "geo/ip_matcher.hh"

#include <algorithm>

namespace skjold::geo {

namespace {

using u128 = unsigned __int128;

u128 load_be128(const std::uint8_t* p) noexcept {
    u128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | p[i];
    return v;
}

// Merged ranges of the prefixes (the count is reported by range_count()).
std::size_t count_ranges(std::span<const Prefix> prefixes) {
    struct Range { u128 first, last; };
    std::vector<Range> rs;
    rs.reserve(prefixes.size());
    for (const auto& p : prefixes) {
        u128 first = load_be128(p.addr.b.data());
        u128 host = p.len == 0 ? ~u128{0} : (p.len == 128 ? 0 : (u128{1} << (128 - p.len)) - 1);
        rs.push_back(Range{first & ~host, first | host});
    }
    std::sort(rs.begin(), rs.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
    std::size_t n = 0;
    u128 last = 0;
    for (const auto& r : rs) {
        // Starts a new range unless it overlaps or touches the current one.
        if (n == 0 || (last != ~u128{0} && r.first > last + 1)) {
            ++n;
            last = r.last;
        } else if (r.last > last) {
            last = r.last;
        }
    }
    return n;
}

}  // namespace

IpMatcher::IpMatcher(std::span<const Prefix> prefixes, std::span<const MaskedV4> masked)
    : masked_(masked.begin(), masked.end()), range_count_(count_ranges(prefixes)) {
    PrefixTable::Builder b;
    for (const auto& p : prefixes) b.add(p, 0);
    table_ = b.build();
}

}  // namespace skjold::geo
