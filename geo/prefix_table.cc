// The longest-prefix-match table: per family the multibit layout (dir_trie.hh) when it fits,
// else the poptrie below (the fallback for huge or sparse lists of long prefixes, and values
// above 15 bits).
//
// Why a poptrie there: a plain DIR-24-8 needs 64 MiB for IPv4 alone, and uncompressed 256-entry
// blocks cost 512 bytes per byte of every scattered long prefix. A poptrie node is 24 bytes
// whatever it holds, and a step costs one shift, one bit test and one popcount.
//
// One trie: `direct` holds 2^direct_bits entries indexed by the top bits of the key (widths:
// see direct_bits_for()); an entry is a node index (kNodeFlag set) or a leaf value + 1 (0 = no
// prefix). Below it, nodes of stride 6: bit i of `child_bm` says slot i has a child (children of a node are contiguous from
// child_base, in slot order); every other slot is a leaf, and bit i of `leaf_bm` marks the start
// of a run of equal leaf values (leaves of a node are contiguous from leaf_base). So:
//   child = nodes[child_base + popcount(child_bm & bits 0..i) - 1]
//   value = leaves[leaf_base + popcount(leaf_bm & bits 0..i) - 1]
// Keys are left-aligned in an integer (IPv4: the 32 bits at the top of a uint64; IPv6: the
// 128 bits of an unsigned __int128); the bits past the address are zero, so a last level that
// reaches past the end (IPv4 28..33) simply uses every fourth slot.
//
// The build sorts the prefixes by (address, length), drops all but the last add() of an
// identical prefix, and fills each node in one pass: in that order every prefix that covers a
// slot comes before the longer prefixes inside the slot, and a nested prefix comes after the
// one containing it, so overwriting gives the longest match (leaf pushing).
#include "geo/prefix_table.hh"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "core/assert.hh"
#include "geo/dir_trie.hh"
#include "geo/trie_block.hh"

namespace skjold::geo {

namespace prefix_trie {

constexpr std::uint32_t kNodeFlag = 0x80000000u;
constexpr unsigned kStride = 6;
constexpr std::uint64_t kV4MappedHigh32 = 0xffffu;   // bits 64..95 of ::ffff:0:0/96

struct Node {
    std::uint64_t child_bm = 0;
    std::uint64_t leaf_bm = 0;
    std::uint32_t child_base = 0;
    std::uint32_t leaf_base = 0;
};
static_assert(sizeof(Node) == 24);

// The trie while it is built (vectors), then frozen into one block of memory (Trie below).
struct BuildTrie {
    unsigned direct_bits = 8;
    std::vector<std::uint32_t> direct;
    std::vector<Node> nodes;
    std::vector<std::uint32_t> leaves;
};

// A frozen poptrie: nodes first (64-byte aligned, so a node never spans more than two cache
// lines), then leaves, then the direct level, in one Block.
struct Trie {
    unsigned direct_bits = 0;
    const std::uint32_t* direct = nullptr;   // 2^direct_bits entries
    const Node* nodes = nullptr;
    const std::uint32_t* leaves = nullptr;
    std::size_t node_count = 0, leaf_count = 0;
    Block block;

    void freeze(const BuildTrie& b) {
        std::size_t node_bytes = (b.nodes.size() * sizeof(Node) + 63) / 64 * 64;
        std::size_t leaf_bytes = (b.leaves.size() * sizeof(std::uint32_t) + 63) / 64 * 64;
        std::size_t direct_bytes = b.direct.size() * sizeof(std::uint32_t);
        block = Block(node_bytes + leaf_bytes + direct_bytes);
        std::byte* p = block.data();
        std::copy(b.nodes.begin(), b.nodes.end(), reinterpret_cast<Node*>(p));
        std::copy(b.leaves.begin(), b.leaves.end(), reinterpret_cast<std::uint32_t*>(p + node_bytes));
        std::copy(b.direct.begin(), b.direct.end(), reinterpret_cast<std::uint32_t*>(p + node_bytes + leaf_bytes));
        nodes = reinterpret_cast<const Node*>(p);
        leaves = reinterpret_cast<const std::uint32_t*>(p + node_bytes);
        direct = reinterpret_cast<const std::uint32_t*>(p + node_bytes + leaf_bytes);
        direct_bits = b.direct_bits;
        node_count = b.nodes.size();
        leaf_count = b.leaves.size();
    }
    std::size_t memory_bytes() const noexcept { return block.bytes(); }
};

// The width of the direct level: the widest that the world lists want, IPv4 18 bits (they are
// mostly /22../24, and one node below the direct level covers bits 18..24) and IPv6 20 bits
// (mostly /29, /32 and /48: nodes at 20..26 and 26..32 hold the /29s and /32s), one node less
// per lookup than a 16-bit level; but never more than about 16 entries per prefix, so a list of
// a few hundred prefixes gets a few KiB, not the world's 1 MiB (IPv4) or 4 MiB (IPv6).
template <class K>
unsigned direct_bits_for(std::size_t prefixes) {
    const unsigned widest = kBits<K> == 64 ? 18 : 20;
    unsigned d = 8;
    while (d < widest && (std::size_t{1} << (d + 1)) <= 16 * prefixes) ++d;
    return d;
}

template <class K>
class TrieBuilder {
public:
    TrieBuilder(BuildTrie& t, const std::vector<Entry<K>>& es) : t_(t), es_(es) {}

    void build(std::uint32_t root_value) {
        t_.direct_bits = direct_bits_for<K>(es_.size());
        t_.direct.assign(std::size_t{1} << t_.direct_bits, root_value + 1);
        t_.nodes.clear();
        t_.leaves.clear();
        const unsigned d = t_.direct_bits;
        std::size_t i = 0;
        while (i < es_.size()) {
            const Entry<K>& x = es_[i];
            unsigned sl = slot_of(x.key, 0, d);
            if (x.len <= d) {
                std::size_t n = std::size_t{1} << (d - x.len);
                std::fill_n(t_.direct.begin() + sl, n, x.value + 1);
                ++i;
                continue;
            }
            std::size_t j = i;
            while (j < es_.size() && slot_of(es_[j].key, 0, d) == sl) ++j;
            std::uint32_t inherited = t_.direct[sl] - 1;
            auto ni = static_cast<std::uint32_t>(t_.nodes.size());
            t_.nodes.emplace_back();
            fill(ni, d, i, j, inherited);
            t_.direct[sl] = kNodeFlag | ni;
            i = j;
        }
        SKJOLD_CHECK(t_.nodes.size() < kNodeFlag, "prefix table too large");
    }

private:
    // Node `ni` at depth `depth` receives es_[begin, end): prefixes longer than depth inside it.
    void fill(std::uint32_t ni, unsigned depth, std::size_t begin, std::size_t end, std::uint32_t inherited) {
        std::uint32_t val[64];
        std::fill_n(val, 64, inherited);
        struct Group { unsigned slot; std::size_t b, e; };
        Group groups[64];
        unsigned ng = 0;
        const unsigned below = depth + kStride;
        for (std::size_t i = begin; i < end;) {
            const Entry<K>& x = es_[i];
            unsigned sl = slot_of(x.key, depth, kStride);
            if (x.len <= below) {
                std::fill_n(val + sl, 1u << (below - x.len), x.value);
                ++i;
                continue;
            }
            std::size_t j = i;
            while (j < end && slot_of(es_[j].key, depth, kStride) == sl) ++j;
            groups[ng++] = Group{sl, i, j};
            i = j;
        }
        Node node;
        for (unsigned g = 0; g < ng; ++g) node.child_bm |= std::uint64_t{1} << groups[g].slot;
        node.leaf_base = static_cast<std::uint32_t>(t_.leaves.size());
        bool first = true;
        std::uint32_t prev = 0;
        for (unsigned s = 0; s < 64; ++s) {
            if ((node.child_bm >> s) & 1) continue;
            if (first || val[s] != prev) {
                node.leaf_bm |= std::uint64_t{1} << s;
                t_.leaves.push_back(val[s]);
                prev = val[s];
                first = false;
            }
        }
        node.child_base = static_cast<std::uint32_t>(t_.nodes.size());
        t_.nodes.resize(t_.nodes.size() + ng);
        t_.nodes[ni] = node;
        for (unsigned g = 0; g < ng; ++g)
            fill(node.child_base + g, below, groups[g].b, groups[g].e, val[groups[g].slot]);
    }

    BuildTrie& t_;
    const std::vector<Entry<K>>& es_;
};

// Sorts by (key, len) and keeps the last add() of each identical prefix.
template <class K>
void sort_dedupe(std::vector<Entry<K>>& es) {
    std::stable_sort(es.begin(), es.end(), [](const Entry<K>& a, const Entry<K>& b) {
        return a.key != b.key ? a.key < b.key : a.len < b.len;
    });
    std::size_t out = 0;
    for (std::size_t i = 0; i < es.size(); ++i) {
        if (i + 1 < es.size() && es[i + 1].key == es[i].key && es[i + 1].len == es[i].len) continue;
        es[out++] = es[i];
    }
    es.resize(out);
}

// Below the direct level: `e` is the direct entry of `key`, a node.
template <class K>
__attribute__((always_inline)) inline std::uint32_t walk_nodes(const Trie& t, K key, std::uint32_t e) noexcept {
    const Node* n = &t.nodes[e & ~kNodeFlag];
    K rest = key << t.direct_bits;   // the bits below the current node at the top
    for (unsigned d = t.direct_bits; d < kBits<K>; d += kStride, rest <<= kStride) {   // bounded: <= 20 steps
        auto sl = static_cast<unsigned>(rest >> (kBits<K> - kStride));
        std::uint64_t upto = (std::uint64_t{2} << sl) - 1;   // bits 0..sl (sl == 63 wraps to all ones)
        if ((n->child_bm >> sl) & 1) {
            n = &t.nodes[n->child_base + static_cast<unsigned>(__builtin_popcountll(n->child_bm & upto)) - 1];
            continue;
        }
        return t.leaves[n->leaf_base + static_cast<unsigned>(__builtin_popcountll(n->leaf_bm & upto)) - 1];
    }
    return PrefixTable::kNone;
}

// The direct level is read inline by lookup(); only a walk below it calls one of these.
std::uint32_t walk4(const Trie& t, std::uint64_t key, std::uint32_t e) noexcept {
    return walk_nodes<std::uint64_t>(t, key, e);
}

std::uint32_t walk6(const Trie& t, u128 key, std::uint32_t e) noexcept {
    return walk_nodes<u128>(t, key, e);
}

inline std::uint32_t lookup4(const Trie& t, std::uint32_t a) noexcept {
    std::uint64_t key = std::uint64_t{a} << 32;
    std::uint32_t e = t.direct[a >> (32 - t.direct_bits)];
    if (!(e & kNodeFlag)) return e - 1;   // 0 - 1 == kNone
    return walk4(t, key, e);
}

inline std::uint32_t lookup6(const Trie& t, u128 key) noexcept {
    std::uint32_t e = t.direct[static_cast<std::size_t>(key >> (128 - t.direct_bits))];
    if (!(e & kNodeFlag)) return e - 1;
    return walk6(t, key, e);
}

u128 key6(const IpAddr& a) noexcept {
    return (u128{load_be64(a.b.data())} << 64) | load_be64(a.b.data() + 8);
}

}  // namespace prefix_trie

using namespace prefix_trie;

namespace prefix_trie {

// The multibit layout's direct array: 16 bits (the world IPv4 list resolves 90% of random
// addresses there; 18 bits, 94%, measured slower: the array no longer stays in cache), 8 for
// lists under 8,192 prefixes.
inline unsigned dir_direct_bits(std::size_t prefixes) { return prefixes < 8192 ? 8 : 16; }

// The multibit layout may use up to 64 KiB + 256 bytes per prefix (the world lists: about 6
// (IPv4) and 30 (IPv6) bytes per prefix); long prefixes scattered over the address space cost a
// 64-byte line per byte of their length, and get the poptrie.
constexpr std::size_t kDirFixedBytes = 64 * 1024;
constexpr std::size_t kDirBytesPerPrefix = 256;

// One family: the multibit layout when it fits (`dir` built), else the poptrie.
template <class K>
void build_family(DirTrie& dir, Trie& pop, const std::vector<Entry<K>>& es, std::uint32_t root_value,
                  PrefixTable::Layout layout) {
    if (layout != PrefixTable::Layout::poptrie &&
        dir.build(es, root_value, dir_direct_bits(es.size()), kDirFixedBytes + kDirBytesPerPrefix * es.size()))
        return;
    BuildTrie b;
    TrieBuilder<K>(b, es).build(root_value);
    pop.freeze(b);
}

}  // namespace prefix_trie

struct PrefixTable::Builder::Impl {
    struct Pending { Prefix p; std::uint32_t value; };
    std::vector<Pending> pending;
    Layout layout = Layout::automatic;
};

// TableCore (the multibit tries, read inline by lookup()) + the poptries of the families that
// did not fit it.
struct PrefixTable::Impl : TableCore {
    Trie pop4, pop6;
    std::size_t size = 0;

    std::size_t memory_bytes() const noexcept {
        return sizeof(Impl) + (v4.built() ? v4.memory_bytes() : pop4.memory_bytes()) +
               (v6.built() ? v6.memory_bytes() : pop6.memory_bytes());
    }
};

namespace {
const PrefixTable::Impl* impl_of(const TableCore* c) noexcept { return static_cast<const PrefixTable::Impl*>(c); }
}  // namespace

PrefixTable::Builder::Builder() : impl_(std::make_unique<Impl>()) {}
PrefixTable::Builder::~Builder() = default;
PrefixTable::Builder::Builder(Builder&&) noexcept = default;
PrefixTable::Builder& PrefixTable::Builder::operator=(Builder&&) noexcept = default;

void PrefixTable::Builder::add(const Prefix& p, std::uint32_t value) {
    SKJOLD_CHECK(value <= kMaxValue, "prefix table value out of range");
    SKJOLD_CHECK(p.len <= 128, "prefix length out of range");
    impl_->pending.push_back(Impl::Pending{p, value});
}

std::size_t PrefixTable::Builder::pending() const noexcept { return impl_->pending.size(); }

void PrefixTable::Builder::set_layout(Layout layout) noexcept { impl_->layout = layout; }

PrefixTable PrefixTable::Builder::build() {
    std::vector<Entry<std::uint64_t>> e4;
    std::vector<Entry<u128>> e6;
    for (const auto& [p, value] : impl_->pending) {
        if (p.is_v4()) {
            unsigned len = p.len - 96u;
            std::uint64_t key = std::uint64_t{p.addr.v4()} << 32;
            key = len == 0 ? 0 : key & ~((std::uint64_t{1} << (64 - len)) - 1);
            e4.push_back(Entry<std::uint64_t>{key, static_cast<std::uint8_t>(len), value});
        } else {
            u128 key = key6(p.addr);
            key = p.len == 0 ? 0 : (p.len == 128 ? key : key & ~((u128{1} << (128 - p.len)) - 1));
            e6.push_back(Entry<u128>{key, p.len, value});
        }
    }
    impl_->pending.clear();
    sort_dedupe(e4);
    sort_dedupe(e6);

    // An IPv6 prefix of length < 96 that contains ::ffff:0:0/96 covers every IPv4 address: the
    // longest such prefix is the IPv4 trie's default (any IPv4 prefix is longer, so it wins).
    const u128 mapped = u128{kV4MappedHigh32} << 32;
    std::uint32_t v4_default = kNone;
    for (const auto& x : e6) {   // sorted by length among equal keys: the last hit is the longest
        if (x.len >= 96) continue;
        u128 m = x.len == 0 ? 0 : ~((u128{1} << (128 - x.len)) - 1);
        if ((mapped & m) == x.key) v4_default = x.value;
    }

    auto impl = std::make_shared<PrefixTable::Impl>();
    build_family(impl->v4, impl->pop4, e4, v4_default, impl_->layout);
    build_family(impl->v6, impl->pop6, e6, kNone, impl_->layout);
    impl->size = e4.size() + e6.size();
    PrefixTable t;
    t.core_ = std::move(impl);
    return t;
}

PrefixTable::PrefixTable() = default;
PrefixTable::~PrefixTable() = default;
PrefixTable::PrefixTable(const PrefixTable&) = default;
PrefixTable& PrefixTable::operator=(const PrefixTable&) = default;
PrefixTable::PrefixTable(PrefixTable&&) noexcept = default;
PrefixTable& PrefixTable::operator=(PrefixTable&&) noexcept = default;

std::uint32_t PrefixTable::lookup_poptrie(const IpAddr& a) const noexcept {
    const Impl* t = impl_of(core_.get());
    std::uint64_t hi = load_be64(a.b.data()), lo = load_be64(a.b.data() + 8);
    if (hi == 0 && (lo >> 32) == kV4MappedHigh32) return lookup4(t->pop4, static_cast<std::uint32_t>(lo));
    return lookup6(t->pop6, (u128{hi} << 64) | lo);
}

std::uint32_t PrefixTable::lookup_v4_poptrie(std::uint32_t host_order) const noexcept {
    return lookup4(impl_of(core_.get())->pop4, host_order);
}

std::size_t PrefixTable::memory_bytes() const noexcept { return core_ ? impl_of(core_.get())->memory_bytes() : 0; }

PrefixTable::Layout PrefixTable::layout(int family) const noexcept {
    if (!core_) return Layout::automatic;
    return (family == 4 ? core_->v4 : core_->v6).built() ? Layout::multibit : Layout::poptrie;
}

std::size_t PrefixTable::size() const noexcept { return core_ ? impl_of(core_.get())->size : 0; }

}  // namespace skjold::geo
