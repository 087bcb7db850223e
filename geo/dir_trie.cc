// Building and reading the multibit layout (see dir_trie.hh). The prefixes arrive sorted by
// (key, len) without identical ones, so every prefix that covers a slot comes before the longer
// prefixes inside it: filling the slots in that order and recursing into a slot's longer
// prefixes with the slot's value as their background gives the longest match (leaf pushing).
#include "geo/dir_trie.hh"

#include <algorithm>
#include <array>
#include <cstring>

namespace skjold::geo::prefix_trie {

namespace {

template <class K>
class DirBuilder {
public:
    DirBuilder(const std::vector<Entry<K>>& es, unsigned direct_bits, std::size_t max_bytes)
        : es_(es), direct_bits_(direct_bits), max_bytes_(max_bytes) {}

    bool run(std::uint32_t root_value) {
        direct.assign(std::size_t{1} << direct_bits_, leaf(root_value));
        fill(direct.data(), 0, direct_bits_, 0, es_.size());
        if (pool.empty()) {   // one valid node (one run): pool_ is never empty
            pool.resize(kLineBytes);
            pool[0] = std::byte{1};
        }
        return !failed_;
    }

    std::vector<std::uint16_t> direct;
    std::vector<std::byte> pool;
    std::vector<std::uint16_t> first_vals;      // the entries of the first node level, 256 per node
    std::vector<std::uint32_t> first_lines;     // and their line indexes

private:
    std::uint16_t leaf(std::uint32_t value) {
        if (value == 0xFFFFFFFFu) return 0;
        if (value > DirTrie::kMaxLeafValue) {
            failed_ = true;
            return 0;
        }
        return static_cast<std::uint16_t>(value + 1);
    }

    // The slots of one level (`width` bits below `depth`) receive es_[begin, end).
    void fill(std::uint16_t* val, unsigned depth, unsigned width, std::size_t begin, std::size_t end) {
        const unsigned below = depth + width;
        for (std::size_t i = begin; i < end && !failed_;) {
            const Entry<K>& x = es_[i];
            unsigned sl = slot_of(x.key, depth, width);
            if (x.len <= below) {
                std::fill_n(val + sl, std::size_t{1} << (below - x.len), leaf(x.value));
                ++i;
                continue;
            }
            std::size_t j = i;
            while (j < end && slot_of(es_[j].key, depth, width) == sl) ++j;
            val[sl] = node(below, i, j, val[sl]);
            i = j;
        }
    }

    // The node at `depth` (it ends at the next byte boundary) for es_[begin, end), over
    // `inherited`; its entry for the parent: a leaf when every slot holds that leaf.
    std::uint16_t node(unsigned depth, std::size_t begin, std::size_t end, std::uint16_t inherited) {
        const unsigned width = 8 - depth % 8, slots = 1u << width;
        std::array<std::uint16_t, 256> val;
        val.fill(inherited);
        fill(val.data(), depth, width, begin, end);
        if (failed_) return 0;
        if (!(val[0] & DirTrie::kNodeFlag) &&
            std::all_of(val.begin(), val.begin() + slots, [&](std::uint16_t v) { return v == val[0]; }))
            return val[0];
        std::uint64_t starts[4] = {0, 0, 0, 0};
        std::uint8_t before[4] = {0, 0, 0, 0};
        std::uint16_t runs[256];
        unsigned n = 0;
        for (unsigned s = 0; s < slots; ++s) {
            if (s % 64 == 0) before[s / 64] = static_cast<std::uint8_t>(n);
            if (s == 0 || val[s] != val[s - 1]) {
                starts[s / 64] |= std::uint64_t{1} << (s % 64);
                runs[n++] = val[s];
            }
        }
        const std::size_t at = pool.size(), index = at / kLineBytes;
        const std::size_t bytes = (kEntriesAt + 2 * n + kLineBytes - 1) / kLineBytes * kLineBytes;
        if (index >= DirTrie::kMaxLines || 2 * direct.size() + at + bytes > max_bytes_) {
            failed_ = true;
            return 0;
        }
        pool.resize(at + bytes);
        if (depth == direct_bits_ && depth % 8 == 0) {
            first_vals.insert(first_vals.end(), val.begin(), val.end());
            first_lines.push_back(static_cast<std::uint32_t>(index));
        }
        std::memcpy(pool.data() + at, starts, sizeof starts);
        std::memcpy(pool.data() + at + 32, before, sizeof before);
        std::memcpy(pool.data() + at + kEntriesAt, runs, 2 * n);
        return static_cast<std::uint16_t>(DirTrie::kNodeFlag | index);
    }

    const std::vector<Entry<K>>& es_;
    const unsigned direct_bits_;
    const std::size_t max_bytes_;
    bool failed_ = false;
};

std::size_t line_up(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

template <class K>
bool DirTrie::build(const std::vector<Entry<K>>& es, std::uint32_t root_value, unsigned direct_bits, std::size_t max_bytes) {
    DirBuilder<K> b(es, direct_bits, max_bytes);
    if (!b.run(root_value)) return false;
    // Few nodes below the direct array (the world IPv6 list: 64, under its 64 busy /16s): they
    // are kept uncompressed as well (256 entries, 512 bytes each), read with one load and no
    // popcount; the direct entries then index them.
    const std::size_t first = b.first_lines.size();
    const bool flat = first > 0 && first <= kFlatMax;
    if (flat) {
        std::vector<std::uint32_t> to_flat(b.pool.size() / kLineBytes, 0);
        for (std::size_t k = 0; k < first; ++k) to_flat[b.first_lines[k]] = static_cast<std::uint32_t>(k);
        for (auto& e : b.direct)
            if (e & kNodeFlag) e = static_cast<std::uint16_t>(kNodeFlag | to_flat[e & ~kNodeFlag]);
    }
    // One block: the nodes first (64-byte aligned), then the direct array, then the flat nodes.
    const std::size_t pb = b.pool.size(), db = line_up(b.direct.size() * 2), fb = flat ? first * 512 : 0;
    block_ = Block(pb + db + fb);
    std::byte* p = block_.data();
    std::copy(b.pool.begin(), b.pool.end(), p);
    std::memcpy(p + pb, b.direct.data(), b.direct.size() * 2);
    if (flat) std::memcpy(p + pb + db, b.first_vals.data(), fb);
    pool_ = p;
    direct_ = reinterpret_cast<const std::uint16_t*>(p + pb);
    flat_ = flat ? reinterpret_cast<const std::uint16_t*>(p + pb + db) : nullptr;
    direct_bits_ = direct_bits;
    line_count_ = pb / kLineBytes;
    return true;
}

template bool DirTrie::build<std::uint64_t>(const std::vector<Entry<std::uint64_t>>&, std::uint32_t, unsigned, std::size_t);
template bool DirTrie::build<u128>(const std::vector<Entry<u128>>&, std::uint32_t, unsigned, std::size_t);

std::uint32_t lookup_dir4_any(const DirTrie& t, std::uint32_t a, std::uint32_t e) noexcept {
    const unsigned d = t.direct_bits_;   // 8 or 16
    const unsigned slot = (a << d) >> 24;   // the byte after the direct array
    if (t.flat_) e = t.flat_[(e & ~DirTrie::kNodeFlag) << 8 | slot];
    else e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, slot);
    for (int shift = 16 - 8 * static_cast<int>(d / 8); (e & DirTrie::kNodeFlag) && shift >= 0; shift -= 8)
        e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, (a >> shift) & 0xFFu);
    return e - 1;
}

std::uint32_t lookup_dir6_any(const DirTrie& t, const std::uint8_t* b, std::uint32_t e) noexcept {
    const unsigned i = t.direct_bits_ / 8;   // 1 or 2
    if (t.flat_) e = t.flat_[(e & ~DirTrie::kNodeFlag) << 8 | b[i]];
    else e = entry_of(t.pool_, e & ~DirTrie::kNodeFlag, b[i]);
    return walk_bytes(t, b, i + 1, e) - 1;
}

}  // namespace skjold::geo::prefix_trie
