#pragma once
// Longest-prefix match over IPv4 and IPv6 (one 16-byte address space, IPv4 mapped), built once
// off the data path, then read-only and shared by every worker without locks.
// Owner: the geo "table" helper (issue #4).
//
// Layout: one trie per family; IPv4 addresses (::ffff:0:0/96) are looked up in the IPv4 trie,
// everything else in the IPv6 trie. A family's trie is the multibit layout of dir_trie.hh (a
// 16-bit direct array of 16-bit entries, then one 64-byte node per address byte) whenever its
// values fit 15 bits and it fits 64 KiB + 256 bytes per prefix, as the world lists and usual
// ACL lists do; otherwise (huge or sparse lists of long prefixes) a poptrie (Asai & Ohara,
// SIGCOMM 2015; prefix_table.cc) with 24-byte nodes of stride 6. Each trie is one block of
// memory. The multibit lookup is inline below and its direct array is read here.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/result.hh"
#include "geo/address.hh"
#include "geo/dir_trie.hh"

namespace skjold::geo {

namespace prefix_trie {
// The part of a built table that lookup() reads inline: the multibit trie of each family
// (built() false: that family is a poptrie, read out of line).
struct TableCore {
    DirTrie v4, v6;
};
}  // namespace prefix_trie

class PrefixTable {
public:
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
    static constexpr std::uint32_t kMaxValue = 0x7FFFFFFEu;   // values are 0..kMaxValue

    // How a family is stored (see prefix_table.cc and dir_trie.hh): `multibit` (uncompressed
    // 16-bit nodes, one load per level) when its values fit 15 bits and it needs at most 64 KiB +
    // 256 bytes per prefix (the world lists do), else `poptrie` (compressed nodes).
    enum class Layout : std::uint8_t { automatic, poptrie, multibit };

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
        // Tests and benchmarks: `poptrie` forces the compressed layout; default `automatic`.
        void set_layout(Layout layout) noexcept;
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

    // Data path: no allocation, no lock, safe from any number of threads at once. Inline, with
    // the multibit walk of big lists (dir_trie.hh): a lookup is a few dozen instructions, and
    // one call more costs a quarter of it (random IPv4, measured); the project is built with
    // popcnt on x86-64 (meson.build) so the walk's bit counts need no call either.
    std::uint32_t lookup(const IpAddr& a) const noexcept {   // kNone when no prefix contains a
        const prefix_trie::TableCore* c = core_.get();
        if (!c) return kNone;
        std::uint64_t w0;
        std::uint32_t w2, w3;
        std::memcpy(&w0, a.b.data(), 8);
        std::memcpy(&w2, a.b.data() + 8, 4);
        std::memcpy(&w3, a.b.data() + 12, 4);
        if (w0 == 0 && w2 == kMappedWord) {   // ::ffff:0:0/96
            if (!c->v4.built()) [[unlikely]] return lookup_poptrie(a);
            return prefix_trie::lookup_dir4(c->v4, big_endian(w3));
        }
        if (!c->v6.built()) [[unlikely]] return lookup_poptrie(a);
        return prefix_trie::lookup_dir6(c->v6, a.b.data());
    }
    std::uint32_t lookup_v4(std::uint32_t host_order) const noexcept {   // == lookup(IpAddr::from_v4(x))
        const prefix_trie::TableCore* c = core_.get();
        if (!c) return kNone;
        if (!c->v4.built()) [[unlikely]] return lookup_v4_poptrie(host_order);
        return prefix_trie::lookup_dir4(c->v4, host_order);
    }
    bool contains(const IpAddr& a) const noexcept { return lookup(a) != kNone; }

    std::size_t memory_bytes() const noexcept;   // memory held by the table
    std::size_t size() const noexcept;           // distinct prefixes in the table
    Layout layout(int family) const noexcept;    // family 4 or 6; `automatic` when empty-constructed
    bool empty() const noexcept { return size() == 0; }
    // The built table this one shares (copies share it; null when empty-constructed): reports
    // count a table that several places hold once.
    const void* identity() const noexcept { return core_.get(); }

    struct Impl;   // TableCore + the poptries (prefix_table.cc)

private:
    static constexpr std::uint32_t kMappedWord = std::endian::native == std::endian::little ? 0xFFFF0000u : 0x0000FFFFu;
    template <class T>
    static T big_endian(T v) noexcept {
        if constexpr (std::endian::native == std::endian::little) {
            if constexpr (sizeof(T) == 8) return __builtin_bswap64(v);
            else return __builtin_bswap32(v);
        } else {
            return v;
        }
    }
    std::uint32_t lookup_poptrie(const IpAddr& a) const noexcept;
    std::uint32_t lookup_v4_poptrie(std::uint32_t host_order) const noexcept;

    std::shared_ptr<const prefix_trie::TableCore> core_;   // an Impl; null: empty; never written after build()
};

}  // namespace skjold::geo
