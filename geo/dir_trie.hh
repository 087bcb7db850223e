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
// branch-free descent below /32 (more instructions cost more than the mispredictions saved).
//
// An entry is 0 (no prefix), value + 1 (a leaf, value <= kMaxLeafValue), or kNodeFlag | index
// of a node's first 64-byte line. Built leaf-pushed from the sorted prefixes; a node whose
// slots all hold one leaf is not stored (its parent holds the leaf), so a slot that one country
// fills resolves a level earlier: the world IPv4 list resolves 90% of random addresses in the
// direct array and nearly every listed one (/17../24) in the node of byte 2; the IPv6 list's
// /29../32 in the node of byte 3, its /48 in that of byte 5.

#include <cstdint>
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
    const std::byte* pool_ = nullptr;    // the nodes; at least one line (a leaf's branch-free step reads line 0)
    const std::uint16_t* flat_ = nullptr;  // when set, the first node level, uncompressed (see build())

private:
    std::size_t line_count_ = 0;
    Block block_;
};

// Below the direct array (dir_trie.cc): `e` is the direct entry of the address, a node.
std::uint32_t lookup_dir4_nodes(const DirTrie& t, std::uint32_t a, std::uint32_t e) noexcept;
std::uint32_t lookup_dir6_nodes(const DirTrie& t, const std::uint8_t* b, std::uint32_t e) noexcept;

// 0xFFFFFFFF when no prefix contains the address. `t` must be built(). The direct array is read
// here, inline: for most random IPv4 addresses that is the whole lookup.
inline std::uint32_t lookup_dir4(const DirTrie& t, std::uint32_t a) noexcept {
    const std::uint32_t e = t.direct_[a >> (32 - t.direct_bits_)];
    if (e & DirTrie::kNodeFlag) return lookup_dir4_nodes(t, a, e);
    return e - 1;
}

inline std::uint32_t lookup_dir6(const DirTrie& t, const std::uint8_t* b) noexcept {   // b: the 16 address bytes
    const std::uint32_t e = t.direct_[t.direct_bits_ == 16 ? (std::uint32_t{b[0]} << 8 | b[1]) : b[0]];
    if (e & DirTrie::kNodeFlag) return lookup_dir6_nodes(t, b, e);
    return e - 1;
}

}  // namespace skjold::geo::prefix_trie
