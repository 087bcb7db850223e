#pragma once
// Membership test for a set of IP patterns (ACL `src`/`dst` values and -f files).
// Built once at load, immutable, read concurrently by every worker without locks.
// A simple correct matcher: prefixes become sorted, merged 128-bit ranges searched by binary
// search. The geo issue replaces it with its LPM table; keep the interface this small.
// Owner: the conditions helper (until the geo issue).

#include <cstdint>
#include <span>
#include <vector>

#include "geo/address.hh"

namespace skjold::geo {

class IpMatcher {
public:
    IpMatcher() = default;
    explicit IpMatcher(std::span<const Prefix> prefixes, std::span<const MaskedV4> masked = {});

    bool contains(const IpAddr& a) const noexcept;
    bool empty() const noexcept { return ranges_.empty() && masked_.empty(); }
    std::size_t range_count() const noexcept { return ranges_.size(); }   // after merging

private:
    struct U128 {
        std::uint64_t hi = 0, lo = 0;
        auto operator<=>(const U128&) const = default;
    };
    struct Range { U128 first, last; };

    std::vector<Range> ranges_;        // sorted by first, disjoint and non-adjacent
    std::vector<MaskedV4> masked_;     // checked linearly after the ranges (HAProxy's order)
};

}  // namespace skjold::geo
