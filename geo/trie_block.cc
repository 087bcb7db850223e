#include "geo/trie_block.hh"

#include <sys/mman.h>

#include <new>

namespace skjold::geo::prefix_trie {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
}

Block::Block(std::size_t bytes) : bytes_(bytes) {
    if (bytes >= kHugePage) {
        // Over-map by one huge page and trim both ends, so the block starts 2 MiB aligned (its
        // whole 2 MiB stretches can be huge pages; the rest of the last one stays 4 KiB pages).
        std::size_t len = (bytes + 4095) / 4096 * 4096;
        void* m = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        auto base = reinterpret_cast<std::uintptr_t>(m);
        std::uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
        if (start > base) ::munmap(m, start - base);
        std::size_t tail = base + len + kHugePage - (start + len);
        if (tail) ::munmap(reinterpret_cast<void*>(start + len), tail);
        ::madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);   // advice only: may be refused
        p_ = reinterpret_cast<std::byte*>(start);
        mapped_ = len;
        return;
    }
    p_ = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}));
}

void Block::release() noexcept {
    if (!p_) return;
    if (mapped_) ::munmap(p_, mapped_);
    else ::operator delete(p_, std::align_val_t{64});
    p_ = nullptr;
    mapped_ = 0;
}

}  // namespace skjold::geo::prefix_trie
