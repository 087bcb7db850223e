#include "proxy/log_ring.hh"

#include <algorithm>
#include <cstring>

namespace skjold::proxy {

namespace {

std::size_t round_up_pow2(std::size_t n) noexcept {
    std::size_t p = 2;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace

LogRing::LogRing(std::size_t slots, std::size_t text_capacity)
    : mask_(round_up_pow2(slots) - 1), text_cap_(std::max<std::size_t>(text_capacity, 1)) {
    // Slots start on a cache line so two slots never share one between producer and consumer.
    stride_ = (sizeof(Header) + text_cap_ + 63) / 64 * 64;
    mem_ = std::make_unique<std::byte[]>(stride_ * (mask_ + 1));
}

LogRing::Header& LogRing::header(std::uint64_t seq) noexcept {
    return *reinterpret_cast<Header*>(mem_.get() + (seq & mask_) * stride_);
}

char* LogRing::text(std::uint64_t seq) noexcept {
    return reinterpret_cast<char*>(mem_.get() + (seq & mask_) * stride_ + sizeof(Header));
}

char* LogRing::reserve() noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_cache_ > mask_) {
        tail_cache_ = tail_.load(std::memory_order_acquire);
        if (h - tail_cache_ > mask_) {
            dropped_.add();
            return nullptr;
        }
    }
    return text(h);
}

void LogRing::commit(int proxy, int level, std::int64_t time_us, std::size_t len, std::uint32_t generation) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    Header& hd = header(h);
    hd.time_us = time_us;
    hd.proxy = proxy;
    hd.level = level;
    hd.generation = generation;
    hd.len = static_cast<std::uint32_t>(std::min(len, text_cap_));
    head_.store(h + 1, std::memory_order_release);
}

bool LogRing::push(int proxy, int level, std::int64_t time_us, std::string_view msg,
                   std::uint32_t generation) noexcept {
    char* p = reserve();
    if (p == nullptr) return false;
    std::size_t n = std::min(msg.size(), text_cap_);
    std::memcpy(p, msg.data(), n);
    commit(proxy, level, time_us, n, generation);
    return true;
}

}  // namespace skjold::proxy
