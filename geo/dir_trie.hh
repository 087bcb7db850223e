#pragma once
// The fast layout of PrefixTable, used when it fits (see PrefixTable::Builder::build()): a
// multibit trie of one-byte strides whose nodes are single cache lines. Owner: the geo "table"
// helper (issue #4).
//
// Levels: a direct array of 16-bit entries indexed by the first 16 address bits (8 for lists
// under 8,192 prefixes), then one node per address byte. A node covers the 256 values of its
// byte (64 for none: the direct array ends on a byte) as runs of equal entries: a 256-bit map
// of where runs start, the number of runs before each 64-bit word, then the run entries; the
// first line holds 14 of them, a busy node takes more lines. A level costs one popcount and
// usually one cache line. When there are at most 128 nodes right below the direct array (the
// world IPv6 list: 64, under its busy /16s) they are also kept uncompressed (`flat_`), read
// with one load. The world lists take 0.8 MiB (IPv4) and 1.4 MiB (IPv6) and stay in cache.
// Measured and dropped: uncompressed 256-entry nodes everywhere (IPv6 world: 9 MiB, lookups
// then wait for memory), an 18-bit direct array for IPv4 (512 KiB: slower than 16 bits),
// branch-free levels (a leaf stepping through line 0 instead of a branch: random IPv4 4.3 ns
// instead of 2.9, IPv6 below /32 12.9 instead of 10.3: the instructions cost more than the
// mispredictions saved), the walk as a call (an ifunc for popcnt: random IPv4 3.6 ns instead
// of 2.9), unrolled bytes 4 and 5 of IPv6, huge pages for blocks under 2 MiB (no change).
//
// An entry is 0 (no prefix), value + 1 (a leaf, value <= kMaxLeafValue), or kNodeFlag | index
// of a node's first 64-byte line. Built leaf-pushed from the sorted prefixes; a node whose
// slots all hold one leaf is not stored (its parent holds the leaf), so a slot that one country
// fills resolves a level earlier: the world IPv4 list resolves 90% of random addresses in the
// direct array and nearly every listed one (/17../24) in the node of byte 2; the IPv6 list's
// /29../32 in the node of byte 3, its /48 in that of byte 5.

#include <cstdint>
#include <cstring>
#include <vector>

#include "geo/trie_block.hh"

namespace skjold::geo::prefix_trie {

// A node, in the byte pool: at offset 0 the 256-bit map of run starts (4 x uint64), at 32 the
// runs before each 64-bit word (4 x uint8), at 36 the run entries (uint16), as many as the node
// has; it takes as many 64-byte lines as that needs (one for up to 14 runs).
constexpr std::size_t kLineBytes = 64;
constexpr std::size_t kEntriesAt = 36;

class DirTrie {
public:
    static constexpr std::uint32_t kNodeFlag = 0x8000;
    static constexpr std::uint32_t kMaxLeafValue = 0x7FFE;
    static constexpr std::size_t kMaxLines = 0x8000;   // a node's index (its first line) has 15 bits
    static constexpr std::size_t kFlatMax = 128;       // first-level nodes kept uncompressed (64 KiB)

    // From `es` (sorted by (key, len), no identical prefixes), over `root_value` (0xFFFFFFFF:
    // nothing). False, and nothing kept, when a value or a line index does not fit 16 bits or
    // the trie would need more than `max_bytes`: the caller then uses the poptrie.
    template <class K>
    bool build(const std::vector<Entry<K>>& es, std::uint32_t root_value, unsigned direct_bits, std::size_t max_bytes);

    bool built() const noexcept { return direct_ != nullptr; }
    std::size_t memory_bytes() const noexcept { return block_.bytes(); }
    unsigned direct_bits() const noexcept { return direct_bits_; }
    std::size_t lines() const noexcept { return line_count_; }

    // Read by lookup_dir4/lookup_dir6 (dir_trie.cc).
    unsigned direct_bits_ = 0;
    const std::uint16_t* direct_ = nullptr;
    const std::byte* pool_ = nullptr;    // the nodes (at least one line)
    const std::uint16_t* flat_ = nullptr;  // when set, the first node level, uncompressed (see build())

private:
    std::size_t line_count_ = 0;
    Block block_;
};

// The entry of `slot` in the node at line `index`.
__attribute__((always_inline)) inline std::uint32_t entry_of(const std::byte* pool, std::uint32_t index, unsigned slot) noexcept {
    const std::byte* n = pool + index * kLineBytes;
    const unsigned w = slot >> 6;
    std::uint64_t starts;
    std::memcpy(&starts, n + 8 * w, 8);
    const std::uint64_t upto = (std::uint64_t{2} << (slot & 63)) - 1;   // bits 0..slot%64 (63 wraps to all ones)
    const unsigned r = static_cast<unsigned>(n[32 + w]) + static_cast<unsigned>(__builtin_popcountll(starts & upto)) - 1;
    std::uint16_t e;
    std::memcpy(&e, n + kEntriesAt + 2 * r, 2);
    return e;
}

// Below a node entry `e`, through the address bytes b[i..15] (a leaf ends the walk).
__attribute__((always_inline)) inline std::uint32_t walk_bytes(const DirTrie& t, const std::uint8_t* b, unsigned i, std::uint32_t e) noexcept {
    for (; (e & DirTrie::kNodeFlag) && i < 16; ++i) e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, b[i]);
    return e;
}

// Any shape of trie below the direct entry `e` (a node) of the address: the walks that
// lookup_dir4/lookup_dir6 do not inline (dir_trie.cc).
std::uint32_t lookup_dir4_any(const DirTrie& t, std::uint32_t a, std::uint32_t e) noexcept;
std::uint32_t lookup_dir6_any(const DirTrie& t, const std::uint8_t* b, std::uint32_t e) noexcept;

// 0xFFFFFFFF when no prefix contains the address. `t` must be built(). Inline (see
// PrefixTable::lookup), for the shape big lists get (a 16-bit direct array; for IPv6 a flat
// first node level): the world IPv4 list resolves 90% of random addresses in the direct array
// and its /17../24 in the node of byte 2; the IPv6 list's /29../32 in the node of byte 3.
// Smaller lists take the call.
__attribute__((always_inline)) inline std::uint32_t lookup_dir4(const DirTrie& t, std::uint32_t a) noexcept {
    std::uint32_t e = t.direct_[a >> (32 - t.direct_bits_)];
    if (!(e & DirTrie::kNodeFlag)) return e - 1;
    if (t.direct_bits_ != 16 || t.flat_) [[unlikely]] return lookup_dir4_any(t, a, e);
    e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, (a >> 8) & 0xFFu);
    if (e & DirTrie::kNodeFlag) [[unlikely]] e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, a & 0xFFu);
    return e - 1;
}

__attribute__((always_inline)) inline std::uint32_t lookup_dir6(const DirTrie& t, const std::uint8_t* b) noexcept {   // b: the 16 address bytes
    if (t.direct_bits_ != 16 || !t.flat_) [[unlikely]] {
        const std::uint32_t e = t.direct_[t.direct_bits_ == 16 ? (std::uint32_t{b[0]} << 8 | b[1]) : b[0]];
        return (e & DirTrie::kNodeFlag) ? lookup_dir6_any(t, b, e) : e - 1;
    }
    std::uint32_t e = t.direct_[std::uint32_t{b[0]} << 8 | b[1]];
    if (!(e & DirTrie::kNodeFlag)) return e - 1;
    e = t.flat_[(e & ~DirTrie::kNodeFlag) << 8 | b[2]];
    if (e & DirTrie::kNodeFlag) [[likely]] e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, b[3]);    // world list: /29../32 end here
    if (e & DirTrie::kNodeFlag) [[unlikely]] e = walk_bytes(t, b, 4, e);   // /33../48 (world list: 27% of its prefixes)
    return e - 1;
}

}  // namespace skjold::geo::prefix_trie
