#include "geo/ip_matcher.hh"

#include <algorithm>

namespace skjold::geo {

namespace {

std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

}  // namespace

IpMatcher::IpMatcher(std::span<const Prefix> prefixes, std::span<const MaskedV4> masked)
    : masked_(masked.begin(), masked.end()) {
    ranges_.reserve(prefixes.size());
    for (const auto& p : prefixes) {
        U128 first{load_be64(p.addr.b.data()), load_be64(p.addr.b.data() + 8)};
        U128 host{};   // the host bits of the prefix, all ones
        unsigned host_bits = 128u - p.len;
        if (host_bits >= 64) {
            host.lo = ~std::uint64_t{0};
            host.hi = host_bits == 128 ? ~std::uint64_t{0} : (std::uint64_t{1} << (host_bits - 64)) - 1;
        } else {
            host.lo = host_bits == 0 ? 0 : (std::uint64_t{1} << host_bits) - 1;
        }
        ranges_.push_back(Range{first, U128{first.hi | host.hi, first.lo | host.lo}});
    }
    std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
    // Merge overlapping and adjacent ranges so a lookup is one binary search.
    std::vector<Range> merged;
    merged.reserve(ranges_.size());
    for (const auto& r : ranges_) {
        if (!merged.empty()) {
            Range& m = merged.back();
            U128 next = m.last;                  // m.last + 1, unless m.last is the top address
            bool top = next.hi == ~std::uint64_t{0} && next.lo == ~std::uint64_t{0};
            if (!top) { if (++next.lo == 0) ++next.hi; }
            if (top || r.first <= next) {
                if (m.last < r.last) m.last = r.last;
                continue;
            }
        }
        merged.push_back(r);
    }
    merged.shrink_to_fit();
    ranges_ = std::move(merged);
}

bool IpMatcher::contains(const IpAddr& a) const noexcept {
    U128 k{load_be64(a.b.data()), load_be64(a.b.data() + 8)};
    // First range whose start is > k; the candidate is the one before it.
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), k,
                               [](const U128& key, const Range& r) { return key < r.first; });
    if (it != ranges_.begin() && !(std::prev(it)->last < k)) return true;
    for (const auto& m : masked_)
        if (m.contains(a)) return true;
    return false;
}

}  // namespace skjold::geo
