#pragma once
// Longest-prefix match over IPv4 and IPv6 (one 16-byte address space, IPv4 mapped), built once
// off the data path, then read-only and shared by every worker without locks.
// Owner: the geo "table" helper (issue #4).
//
// Layout (see prefix_table.cc): one poptrie per family (Asai & Ohara, SIGCOMM 2015): a
// direct-indexed first level (up to 2^18 entries for IPv4, 2^20 for IPv6, fewer for small
// tables), then nodes of stride 6 holding two 64-bit bitmaps (children, leaf-run starts) and the
// bases of their contiguous children and leaves, so a node is 24 bytes and a step is one
// popcount. IPv4 addresses (::ffff:0:0/96) are looked up in the IPv4 trie (at most 3 nodes after
// the direct level), everything else in the IPv6 trie (at most 18). Each trie is one block of
// memory.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/result.hh"
#include "geo/address.hh"

namespace skjold::geo {

class PrefixTable {
public:
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
    static constexpr std::uint32_t kMaxValue = 0x7FFFFFFEu;   // values are 0..kMaxValue

    class Builder {
    public:
        Builder();
        ~Builder();
        Builder(Builder&&) noexcept;
        Builder& operator=(Builder&&) noexcept;
        // The last add() of an identical prefix wins; nested prefixes: the longest one matches.
        // A value above kMaxValue aborts (SKJOLD_CHECK): ids are small by construction.
        void add(const Prefix& p, std::uint32_t value);
        std::size_t pending() const noexcept;   // add() calls so far
        PrefixTable build();                     // leaves the builder empty
    private:
        struct Impl;
        std::unique_ptr<Impl> impl_;
    };

    // Copies share the immutable built table (a copy of a Snapshot copies no prefixes).
    PrefixTable();
    ~PrefixTable();
    PrefixTable(const PrefixTable&);
    PrefixTable& operator=(const PrefixTable&);
    PrefixTable(PrefixTable&&) noexcept;
    PrefixTable& operator=(PrefixTable&&) noexcept;

    // Data path: no allocation, no lock, safe from any number of threads at once.
    std::uint32_t lookup(const IpAddr& a) const noexcept;   // kNone when no prefix contains a
    std::uint32_t lookup_v4(std::uint32_t host_order) const noexcept;   // == lookup(IpAddr::from_v4(x))
    bool contains(const IpAddr& a) const noexcept { return lookup(a) != kNone; }

    std::size_t memory_bytes() const noexcept;   // memory held by the table
    std::size_t size() const noexcept;           // distinct prefixes in the table
    bool empty() const noexcept { return size() == 0; }
    // The built table this one shares (copies share it; null when empty-constructed): reports
    // count a table that several places hold once.
    const void* identity() const noexcept { return impl_.get(); }

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;   // null: empty; never written after build()
};

}  // namespace skjold::geo
