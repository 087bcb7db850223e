#pragma once
// Pieces shared by the two layouts of PrefixTable (prefix_table.cc: poptrie, dir_trie.cc:
// multibit trie of 16-bit entries): the sorted prefix entries they are built from, and the one
// block of memory a frozen trie lives in. Owner: the geo "table" helper (issue #4).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace skjold::geo {

// Named (not anonymous): PrefixTable::Impl holds these types, and a unity build would otherwise
// warn that a type with external linkage has a member of internal linkage.
namespace prefix_trie {

using u128 = unsigned __int128;

template <class K>
constexpr unsigned kBits = sizeof(K) * 8;

// One prefix of a family: IPv4 keys are the 32 address bits at the top of a uint64, IPv6 keys
// the 128 bits of a u128; bits past len are zero.
template <class K>
struct Entry {
    K key;
    std::uint8_t len;       // in the family's own bits (IPv4 0..32, IPv6 0..128)
    std::uint32_t value;
};

// The `width` bits of `key` below its first `depth` bits (depth < kBits<K>).
template <class K>
inline unsigned slot_of(K key, unsigned depth, unsigned width) noexcept {
    return static_cast<unsigned>((key << depth) >> (kBits<K> - width));
}

inline std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

// One allocation holding a frozen trie, 64-byte aligned (a node never spans more cache lines
// than it must). A block of 2 MiB or more is mapped on its own, 2 MiB aligned, and asks for
// transparent huge pages: the multibit layout of the world lists reads a few MiB at random, and
// with 4 KiB pages nearly every lookup would also miss the TLB.
class Block {
public:
    Block() = default;
    explicit Block(std::size_t bytes);
    Block(Block&& o) noexcept
        : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), mapped_(std::exchange(o.mapped_, 0)) {}
    Block& operator=(Block&& o) noexcept {
        if (this != &o) {
            release();
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
            mapped_ = std::exchange(o.mapped_, 0);
        }
        return *this;
    }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    ~Block() { release(); }
    std::byte* data() const noexcept { return p_; }
    std::size_t bytes() const noexcept { return mapped_ ? mapped_ : bytes_; }   // memory held

private:
    void release() noexcept;

    std::byte* p_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t mapped_ = 0;   // length of the mapping (0: operator new)
};

}  // namespace prefix_trie
}  // namespace skjold::geo
