#pragma once
#include <atomic>
#include <cstdint>

namespace skjold::core {

// Written by the owning worker only (relaxed load+store: a plain add, no lock prefix);
// read by the control thread when the stats socket asks.
class Counter {
    std::atomic<std::uint64_t> v_{0};
public:
    void add(std::uint64_t n = 1) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void sub(std::uint64_t n = 1) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
    std::uint64_t read() const noexcept { return v_.load(std::memory_order_relaxed); }
};

}  // namespace skjold::core
