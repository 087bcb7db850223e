#pragma once
// Per-worker object slab: objects live in fixed chunks that are never moved or freed while the
// worker runs, so a slot index stays valid for io_uring's user_data. Each slot carries a
// generation bumped on release, so a late completion for a reused slot is recognised.
// Owner: one worker thread. Growing allocates one chunk (rare, at accept time), never per byte.

#include <cstdint>
#include <memory>
#include <vector>

namespace skjold::core {

template <class T, std::uint32_t kChunk = 256>
class Slab {
public:
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

    explicit Slab(std::uint32_t max_slots) noexcept : max_(max_slots) {}

    // Returns the slot index or kNone when max_slots are in use. T is default-constructed
    // in place at first use and re-initialised with reset() by the caller on reuse.
    std::uint32_t acquire() {
        if (free_.empty()) {
            if (chunks_.size() * kChunk >= max_) return kNone;
            chunks_.push_back(std::make_unique<Entry[]>(kChunk));
            std::uint32_t base = static_cast<std::uint32_t>((chunks_.size() - 1) * kChunk);
            for (std::uint32_t i = kChunk; i-- > 0;) free_.push_back(base + i);
        }
        std::uint32_t s = free_.back();
        free_.pop_back();
        entry(s).used = true;
        ++in_use_;
        return s;
    }
    void release(std::uint32_t slot) noexcept {
        Entry& e = entry(slot);
        e.used = false;
        ++e.gen;
        --in_use_;
        free_.push_back(slot);   // capacity reserved by acquire's growth: no allocation here
    }
    T& operator[](std::uint32_t slot) noexcept { return entry(slot).obj; }
    std::uint32_t gen(std::uint32_t slot) const noexcept { return entry(slot).gen; }
    bool live(std::uint32_t slot, std::uint32_t gen) const noexcept {
        if (slot >= chunks_.size() * kChunk) return false;
        const Entry& e = entry(slot);
        return e.used && e.gen == gen;
    }
    std::uint32_t in_use() const noexcept { return in_use_; }
    template <class F>
    void for_each_live(F&& f) {
        for (std::uint32_t s = 0; s < chunks_.size() * kChunk; ++s)
            if (entry(s).used) f(s, entry(s).obj);
    }

private:
    struct Entry {
        T obj{};
        std::uint32_t gen = 1;
        bool used = false;
    };
    Entry& entry(std::uint32_t s) noexcept { return chunks_[s / kChunk][s % kChunk]; }
    const Entry& entry(std::uint32_t s) const noexcept { return chunks_[s / kChunk][s % kChunk]; }

    std::vector<std::unique_ptr<Entry[]>> chunks_;
    std::vector<std::uint32_t> free_;
    std::uint32_t max_;
    std::uint32_t in_use_ = 0;
};

}  // namespace skjold::core
