#pragma once
// Per-worker pool of tune.bufsize blocks for HTTP heads: a request or response head is copied
// into one while it is parsed and edited, and a head is serialised into one to be sent.
// Owner: one worker thread; no lock. Blocks are carved from chunks allocated on demand (a few
// at a time, never per request) and kept for the life of the worker; a block goes back to the
// free list as soon as its message is done, so an idle keep-alive connection holds none.

#include <cstdint>
#include <memory>
#include <vector>

namespace skjold::proxy {

class BlockPool {
public:
    static constexpr std::uint32_t kChunkBlocks = 16;

    // `max_blocks` bounds the memory: acquire() fails beyond it (the caller answers 500 or
    // closes, as HAProxy does when it cannot get a buffer).
    BlockPool(std::uint32_t block_size, std::uint32_t max_blocks)
        : size_(block_size), max_chunks_((max_blocks + kChunkBlocks - 1) / kChunkBlocks) {}
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    std::uint32_t block_size() const noexcept { return size_; }
    std::uint32_t in_use() const noexcept { return in_use_; }

    char* acquire() noexcept {
        if (free_.empty() && !grow()) return nullptr;
        char* b = free_.back();
        free_.pop_back();
        ++in_use_;
        return b;
    }
    void release(char* b) noexcept {
        if (b == nullptr) return;
        free_.push_back(b);   // capacity reserved for every block: no allocation
        --in_use_;
    }

private:
    // The only allocation: a new chunk, and room in the lists for its blocks, so that release()
    // never allocates. Out of memory: no block (the caller answers or closes).
    bool grow() noexcept {
        if (chunks_.size() >= max_chunks_) return false;
        try {
            std::unique_ptr<char[]> c(new char[std::size_t{size_} * kChunkBlocks]);
            chunks_.reserve(chunks_.size() + 1);
            free_.reserve((chunks_.size() + 1) * std::size_t{kChunkBlocks});
            for (std::uint32_t i = 0; i < kChunkBlocks; ++i) free_.push_back(c.get() + std::size_t{i} * size_);
            chunks_.push_back(std::move(c));
        } catch (...) {
            return false;
        }
        return true;
    }

    std::uint32_t size_;
    std::uint32_t max_chunks_;
    std::uint32_t in_use_ = 0;
    std::vector<std::unique_ptr<char[]>> chunks_;
    std::vector<char*> free_;
};

}  // namespace skjold::proxy
