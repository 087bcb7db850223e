// The longest-prefix-match table: one poptrie per family.
//
// Why this layout: a plain DIR-24-8 needs 64 MiB for IPv4 alone, and a DIR-16-8-8 with
// uncompressed 256-entry blocks needs one KiB for every /16 that holds a longer prefix (about
// 30 MiB for the world list). A poptrie node is 24 bytes whatever it holds, and a step costs
// one shift, one bit test and one popcount, so the whole world list (IPv4 + IPv6) fits in a few
// MiB, most of it in cache, and a lookup is a handful of dependent loads.
//
// One trie: `direct` holds 2^direct_bits entries indexed by the top bits of the key (see
// direct_bits_for() for the widths and why); an entry
// is a node index (kNodeFlag set) or a leaf value + 1 (0 = no prefix). Below it, nodes of
// stride 6: bit i of `child_bm` says slot i has a child (children of a node are contiguous from
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

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

#include "core/assert.hh"

namespace skjold::geo {

namespace {

using u128 = unsigned __int128;

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

// One allocation holding a frozen trie: nodes first (64-byte aligned, so a node never spans more
// than two cache lines), then leaves, then the direct level. A block of 2 MiB or more is mapped on
// its own, starting on a 2 MiB boundary, and advised to transparent huge pages: a lookup touches
// a random spot of a few MiB, and with 4 KiB pages much of its cost would be TLB misses. Only
// whole 2 MiB stretches can be huge pages, so the tail stays in 4 KiB pages (nothing is rounded
// up to 2 MiB).
class Block {
public:
    static constexpr std::size_t kHuge = std::size_t{2} << 20;
    static constexpr std::size_t kPage = 4096;

    Block() = default;
    explicit Block(std::size_t bytes) {
        if (bytes >= kHuge && !std::getenv("XP_NOHUGE")) {
            std::size_t len = (bytes + kPage - 1) / kPage * kPage;
            void* p = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) throw std::bad_alloc();
            auto at = reinterpret_cast<std::uintptr_t>(p);
            std::uintptr_t aligned = (at + kHuge - 1) / kHuge * kHuge;
            if (aligned > at) ::munmap(p, aligned - at);
            std::uintptr_t end = at + len + kHuge;
            if (aligned + len < end) ::munmap(reinterpret_cast<void*>(aligned + len), end - aligned - len);
            ::madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);   // a hint: fine if refused
            p_ = reinterpret_cast<std::byte*>(aligned);
            bytes_ = len;
            mapped_ = true;
        } else {
            p_ = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}));
            bytes_ = bytes;
        }
    }
    Block(Block&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), mapped_(o.mapped_) {}
    Block& operator=(Block&& o) noexcept {
        if (this != &o) {
            release();
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
            mapped_ = o.mapped_;
        }
        return *this;
    }
    ~Block() { release(); }
    std::byte* data() const noexcept { return p_; }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    void release() noexcept {
        if (!p_) return;
        if (mapped_) ::munmap(p_, bytes_);
        else ::operator delete(p_, std::align_val_t{64});
        p_ = nullptr;
    }

    std::byte* p_ = nullptr;
    std::size_t bytes_ = 0;
    bool mapped_ = false;
};

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
        std::memcpy(p, b.nodes.data(), b.nodes.size() * sizeof(Node));
        std::memcpy(p + node_bytes, b.leaves.data(), b.leaves.size() * sizeof(std::uint32_t));
        std::memcpy(p + node_bytes + leaf_bytes, b.direct.data(), direct_bytes);
        nodes = reinterpret_cast<const Node*>(p);
        leaves = reinterpret_cast<const std::uint32_t*>(p + node_bytes);
        direct = reinterpret_cast<const std::uint32_t*>(p + node_bytes + leaf_bytes);
        direct_bits = b.direct_bits;
        node_count = b.nodes.size();
        leaf_count = b.leaves.size();
    }
    std::size_t memory_bytes() const noexcept { return block.bytes(); }
};

template <class K>
constexpr unsigned kBits = sizeof(K) * 8;

template <class K>
struct Entry {
    K key;                  // left-aligned, bits past len zero
    std::uint8_t len;       // in the family's own bits (IPv4 0..32, IPv6 0..128)
    std::uint32_t value;
};

template <class K>
inline unsigned slot_of(K key, unsigned depth, unsigned width) noexcept {
    return static_cast<unsigned>((key << depth) >> (kBits<K> - width));
}

// The width of the direct level: the widest that the world lists want, IPv4 18 bits (they are
// mostly /22../24, and one node below the direct level covers bits 18..24) and IPv6 20 bits
// (mostly /29, /32 and /48: nodes at 20..26 and 26..32 hold the /29s and /32s), one node less
// per lookup than a 16-bit level; but never more than about 16 entries per prefix, so a list of
// a few hundred prefixes gets a few KiB, not the world's 1 MiB (IPv4) or 4 MiB (IPv6).
template <class K>
unsigned direct_bits_for(std::size_t prefixes) {
    unsigned widest = kBits<K> == 64 ? 18 : 20;
    if (const char* e = std::getenv(kBits<K> == 64 ? "XP_D4" : "XP_D6")) widest = unsigned(std::atoi(e));
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
        t_.nodes.shrink_to_fit();
        t_.leaves.shrink_to_fit();
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

// One build per CPU flavour: the popcnt instruction where the CPU has it (every x86-64 since
// 2008), libgcc's popcount elsewhere; chosen once at load time (ifunc).
#if defined(__x86_64__)
#define SKJOLD_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define SKJOLD_POPCNT_CLONES
#endif

// The direct level is read inline by lookup(); only a walk below it calls one of these.
SKJOLD_POPCNT_CLONES std::uint32_t walk4(const Trie& t, std::uint64_t key, std::uint32_t e) noexcept {
    return walk_nodes<std::uint64_t>(t, key, e);
}

SKJOLD_POPCNT_CLONES std::uint32_t walk6(const Trie& t, u128 key, std::uint32_t e) noexcept {
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

std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

u128 key6(const IpAddr& a) noexcept {
    return (u128{load_be64(a.b.data())} << 64) | load_be64(a.b.data() + 8);
}

// Many lookups at once (lookup_batch): kLanes walks in flight, each advanced one load at a time
// in turn, the load it needs next prefetched when the step before computes its address, so the
// cache misses of different walks overlap instead of queuing (the "asynchronous memory access
// chaining" of Kocberber et al., VLDB 2015). An IPv4 key sits at the top of the 128 bits, the
// bits past it zero, so one lane type walks both tries with the same slot arithmetic.
SKJOLD_POPCNT_CLONES void walk_many(const Trie& v4, const Trie& v6, const IpAddr* in, std::uint32_t* out,
                                    std::size_t n) noexcept {
    constexpr unsigned kLanes = 8;
    enum class Step : std::uint8_t { idle, direct, node, leaf };
    struct Lane {
        const Trie* t;
        u128 key;
        const void* at;   // what the next step reads (prefetched)
        std::size_t i;    // index into in/out
        unsigned depth;
        Step step;
    };
    Lane lanes[kLanes];
    std::size_t next = 0;
    auto start = [&](Lane& l) noexcept {
        if (next == n) {
            l.step = Step::idle;
            return false;
        }
        const IpAddr& a = in[next];
        std::uint64_t hi = load_be64(a.b.data()), lo = load_be64(a.b.data() + 8);
        if (hi == 0 && (lo >> 32) == kV4MappedHigh32) {
            l.t = &v4;
            l.key = u128{static_cast<std::uint32_t>(lo)} << 96;
        } else {
            l.t = &v6;
            l.key = (u128{hi} << 64) | lo;
        }
        l.i = next++;
        l.at = &l.t->direct[static_cast<std::size_t>(l.key >> (128 - l.t->direct_bits))];
        l.step = Step::direct;
        __builtin_prefetch(l.at);
        return true;
    };
    unsigned busy = 0;
    for (auto& l : lanes) busy += start(l);
    while (busy) {
        for (auto& l : lanes) {
            switch (l.step) {
            case Step::idle:
                break;
            case Step::direct: {
                std::uint32_t e = *static_cast<const std::uint32_t*>(l.at);
                if (!(e & kNodeFlag)) {
                    out[l.i] = e - 1;
                    if (!start(l)) --busy;
                    break;
                }
                l.at = &l.t->nodes[e & ~kNodeFlag];
                l.depth = l.t->direct_bits;
                l.step = Step::node;
                __builtin_prefetch(l.at);
                break;
            }
            case Step::node: {
                const Node* nd = static_cast<const Node*>(l.at);
                unsigned sl = slot_of(l.key, l.depth, kStride);
                std::uint64_t upto = (std::uint64_t{2} << sl) - 1;
                if ((nd->child_bm >> sl) & 1) {
                    l.at = &l.t->nodes[nd->child_base + static_cast<unsigned>(__builtin_popcountll(nd->child_bm & upto)) - 1];
                    l.depth += kStride;
                    if (l.depth >= 128) {   // unreachable in a well-built trie; keeps the loop bounded
                        out[l.i] = PrefixTable::kNone;
                        if (!start(l)) --busy;
                        break;
                    }
                } else {
                    l.at = &l.t->leaves[nd->leaf_base + static_cast<unsigned>(__builtin_popcountll(nd->leaf_bm & upto)) - 1];
                    l.step = Step::leaf;
                }
                __builtin_prefetch(l.at);
                break;
            }
            case Step::leaf:
                out[l.i] = *static_cast<const std::uint32_t*>(l.at);
                if (!start(l)) --busy;
                break;
            }
        }
    }
}

// Many lookups at once, in lock step (lookup_batch): up to kGroup walks of one family advance
// together, one trie level per round, every lane doing the same arithmetic with selects instead
// of branches, so the loads of the group are independent and overlap, and the only branch that
// depends on the data is the end of the group's last walk. A lane whose walk has ended keeps
// re-reading its last node (cached) and ignores the result.
constexpr unsigned kGroup = 16;

template <class K>
__attribute__((always_inline)) inline void walk_group(const Trie& t, const K* keys, const std::uint32_t* at,
                                                      unsigned n, std::uint32_t* out) noexcept {
    std::uint32_t cur[kGroup], leaf[kGroup], direct_value[kGroup];
    bool done[kGroup], walked[kGroup];
    bool any = false;
    for (unsigned j = 0; j < n; ++j) {
        std::uint32_t e = t.direct[static_cast<std::size_t>(keys[j] >> (kBits<K> - t.direct_bits))];
        walked[j] = (e & kNodeFlag) != 0;
        done[j] = !walked[j];
        direct_value[j] = e - 1;
        cur[j] = walked[j] ? e & ~kNodeFlag : 0;   // any node will do for a finished lane
        leaf[j] = 0;
        any |= walked[j];
    }
    for (unsigned d = t.direct_bits; any && d < kBits<K>; d += kStride) {   // bounded: <= 21 rounds
        any = false;
        for (unsigned j = 0; j < n; ++j) {
            const Node& nd = t.nodes[cur[j]];
            unsigned sl = slot_of(keys[j], d, kStride);
            std::uint64_t upto = (std::uint64_t{2} << sl) - 1;
            bool child = (nd.child_bm >> sl) & 1;
            std::uint32_t ci = nd.child_base + static_cast<std::uint32_t>(__builtin_popcountll(nd.child_bm & upto)) - 1;
            std::uint32_t li = nd.leaf_base + static_cast<std::uint32_t>(__builtin_popcountll(nd.leaf_bm & upto)) - 1;
            bool live = !done[j];
            leaf[j] = live && !child ? li : leaf[j];
            cur[j] = live && child ? ci : cur[j];
            done[j] = done[j] || !child;
            any |= !done[j];
        }
    }
    for (unsigned j = 0; j < n; ++j)
        out[at[j]] = walked[j] ? (done[j] ? t.leaves[leaf[j]] : PrefixTable::kNone) : direct_value[j];
}

SKJOLD_POPCNT_CLONES void walk_groups(const Trie& v4, const Trie& v6, const IpAddr* in, std::uint32_t* out,
                                      std::size_t n) noexcept {
    std::uint64_t k4[kGroup];
    u128 k6[kGroup];
    std::uint32_t at4[kGroup], at6[kGroup];
    unsigned n4 = 0, n6 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t hi = load_be64(in[i].b.data()), lo = load_be64(in[i].b.data() + 8);
        if (hi == 0 && (lo >> 32) == kV4MappedHigh32) {
            k4[n4] = lo << 32;
            at4[n4] = static_cast<std::uint32_t>(i);
            if (++n4 == kGroup) {
                walk_group(v4, k4, at4, n4, out);
                n4 = 0;
            }
        } else {
            k6[n6] = (u128{hi} << 64) | lo;
            at6[n6] = static_cast<std::uint32_t>(i);
            if (++n6 == kGroup) {
                walk_group(v6, k6, at6, n6, out);
                n6 = 0;
            }
        }
    }
    if (n4) walk_group(v4, k4, at4, n4, out);
    if (n6) walk_group(v6, k6, at6, n6, out);
}

// Lock step with compaction: the lanes still walking are listed in `act`; each round reads one
// node for each of them (independent loads that overlap), and appends the lane to the next round's
// list only if it descends (written always, counted when it descends: no branch on the data).
// The work is the sum of the walks' depths, not the deepest one times the lanes.
template <class K>
__attribute__((always_inline)) inline void walk_compact(const Trie& t, const K* keys, const std::uint32_t* at,
                                                        unsigned n, std::uint32_t* out) noexcept {
    std::uint32_t cur[kGroup], leaf[kGroup];
    std::uint8_t act[kGroup], walked[kGroup];
    unsigned m = 0;
    for (unsigned j = 0; j < n; ++j) {
        std::uint32_t e = t.direct[static_cast<std::size_t>(keys[j] >> (kBits<K> - t.direct_bits))];
        out[at[j]] = e - 1;   // the answer unless the walk goes on (then overwritten below)
        cur[j] = e & ~kNodeFlag;
        act[m] = static_cast<std::uint8_t>(j);
        m += e >> 31;
    }
    const unsigned nw = m;
    std::copy_n(act, nw, walked);
    for (unsigned d = t.direct_bits; m && d < kBits<K>; d += kStride) {   // bounded: <= 20 rounds
        unsigned next = 0;
        for (unsigned k = 0; k < m; ++k) {
            unsigned j = act[k];
            const Node& nd = t.nodes[cur[j]];
            unsigned sl = slot_of(keys[j], d, kStride);
            std::uint64_t upto = (std::uint64_t{2} << sl) - 1;
            unsigned child = static_cast<unsigned>(nd.child_bm >> sl) & 1u;
            cur[j] = nd.child_base + static_cast<std::uint32_t>(__builtin_popcountll(nd.child_bm & upto)) - 1;
            leaf[j] = nd.leaf_base + static_cast<std::uint32_t>(__builtin_popcountll(nd.leaf_bm & upto)) - 1;
            act[next] = static_cast<std::uint8_t>(j);
            next += child;
        }
        m = next;
    }
    for (unsigned k = 0; k < nw; ++k) {
        unsigned j = walked[k];
        out[at[j]] = t.leaves[leaf[j]];
    }
}

SKJOLD_POPCNT_CLONES void walk_compacts(const Trie& v4, const Trie& v6, const IpAddr* in, std::uint32_t* out,
                                        std::size_t n) noexcept {
    std::uint64_t k4[kGroup];
    u128 k6[kGroup];
    std::uint32_t at4[kGroup], at6[kGroup];
    unsigned n4 = 0, n6 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t hi = load_be64(in[i].b.data()), lo = load_be64(in[i].b.data() + 8);
        if (hi == 0 && (lo >> 32) == kV4MappedHigh32) {
            k4[n4] = lo << 32;
            at4[n4] = static_cast<std::uint32_t>(i);
            if (++n4 == kGroup) {
                walk_compact(v4, k4, at4, n4, out);
                n4 = 0;
            }
        } else {
            k6[n6] = (u128{hi} << 64) | lo;
            at6[n6] = static_cast<std::uint32_t>(i);
            if (++n6 == kGroup) {
                walk_compact(v6, k6, at6, n6, out);
                n6 = 0;
            }
        }
    }
    if (n4) walk_compact(v4, k4, at4, n4, out);
    if (n6) walk_compact(v6, k6, at6, n6, out);
}

}  // namespace

struct PrefixTable::Builder::Impl {
    struct Pending { Prefix p; std::uint32_t value; };
    std::vector<Pending> pending;
};

struct PrefixTable::Impl {
    Trie v4, v6;
    std::size_t size = 0;
};

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
    {
        BuildTrie b;
        TrieBuilder<std::uint64_t>(b, e4).build(v4_default);
        impl->v4.freeze(b);
    }
    {
        BuildTrie b;
        TrieBuilder<u128>(b, e6).build(kNone);
        impl->v6.freeze(b);
    }
    impl->size = e4.size() + e6.size();
    PrefixTable t;
    t.impl_ = std::move(impl);
    return t;
}

PrefixTable::PrefixTable() = default;
PrefixTable::~PrefixTable() = default;
PrefixTable::PrefixTable(const PrefixTable&) = default;
PrefixTable& PrefixTable::operator=(const PrefixTable&) = default;
PrefixTable::PrefixTable(PrefixTable&&) noexcept = default;
PrefixTable& PrefixTable::operator=(PrefixTable&&) noexcept = default;

std::uint32_t PrefixTable::lookup(const IpAddr& a) const noexcept {
    if (!impl_) return kNone;
    std::uint64_t hi = load_be64(a.b.data()), lo = load_be64(a.b.data() + 8);
    if (hi == 0 && (lo >> 32) == kV4MappedHigh32) return lookup4(impl_->v4, static_cast<std::uint32_t>(lo));
    return lookup6(impl_->v6, (u128{hi} << 64) | lo);
}

std::uint32_t PrefixTable::lookup_v4(std::uint32_t host_order) const noexcept {
    if (!impl_) return kNone;
    return lookup4(impl_->v4, host_order);
}

void PrefixTable::lookup_batch(std::span<const IpAddr> in, std::span<std::uint32_t> out) const noexcept {
    SKJOLD_ASSERT(out.size() >= in.size());
    if (!impl_) {
        std::fill_n(out.begin(), in.size(), kNone);
        return;
    }
    if (std::getenv("XP_AMAC")) walk_many(impl_->v4, impl_->v6, in.data(), out.data(), in.size());
    else if (std::getenv("XP_GROUPS")) walk_groups(impl_->v4, impl_->v6, in.data(), out.data(), in.size());
    else walk_compacts(impl_->v4, impl_->v6, in.data(), out.data(), in.size());
}

std::size_t PrefixTable::memory_bytes() const noexcept {
    if (!impl_) return 0;
    return sizeof(Impl) + impl_->v4.memory_bytes() + impl_->v6.memory_bytes();
}

std::size_t PrefixTable::size() const noexcept { return impl_ ? impl_->size : 0; }

}  // namespace skjold::geo
