#pragma once
// Membership test for a set of IP patterns (ACL `src`/`dst` values and -f files).
// Built once at load, immutable, read concurrently by every worker without locks.
// Prefixes go into a geo::PrefixTable (membership: every prefix has value 0), so a test is one
// longest-prefix lookup (a few ns for a world-size list); non-contiguous IPv4 masks, which no
// prefix structure can hold, are checked linearly afterwards, as HAProxy does.
// Owner: the conditions helper wrote the interface; the geo "table" helper the PrefixTable
// behind it (issue #4).

#include <cstdint>
#include <span>
#include <vector>

#include "geo/address.hh"
#include "geo/prefix_table.hh"

namespace skjold::geo {

class IpMatcher {
public:
    IpMatcher() = default;
    explicit IpMatcher(std::span<const Prefix> prefixes, std::span<const MaskedV4> masked = {});

    bool contains(const IpAddr& a) const noexcept {
        if (table_.lookup(a) != PrefixTable::kNone) return true;
        for (const auto& m : masked_)
            if (m.contains(a)) return true;
        return false;
    }
    bool empty() const noexcept { return table_.empty() && masked_.empty(); }
    // Disjoint address ranges the prefixes cover once overlapping and adjacent ones are merged
    // (for tests and reports; the lookup does not use them).
    std::size_t range_count() const noexcept { return range_count_; }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes() + masked_.capacity() * sizeof(MaskedV4); }
    const PrefixTable& table() const noexcept { return table_; }
    std::size_t masked_count() const noexcept { return masked_.size(); }

private:
    PrefixTable table_;
    std::vector<MaskedV4> masked_;     // checked linearly after the table (HAProxy's order)
    std::size_t range_count_ = 0;
};

}  // namespace skjold::geo
