#pragma once
// One io_uring. Owner: the thread that created it (SINGLE_ISSUER where the kernel has it).
// user_data carries {op, slot, generation} so a completion finds its owner without a map.

#include <cstdint>
#include <liburing.h>

#include "core/result.hh"

namespace skjold::core {

struct UserData {
    std::uint8_t op = 0;
    std::uint32_t slot = 0;          // 24 bits
    std::uint32_t gen = 0;

    static constexpr std::uint64_t pack(std::uint8_t op, std::uint32_t slot, std::uint32_t gen) noexcept {
        return (std::uint64_t{op} << 56) | (std::uint64_t{slot & 0xFFFFFFu} << 32) | gen;
    }
    static constexpr UserData unpack(std::uint64_t v) noexcept {
        return UserData{static_cast<std::uint8_t>(v >> 56), static_cast<std::uint32_t>((v >> 32) & 0xFFFFFFu),
                        static_cast<std::uint32_t>(v)};
    }
};

struct RingFeatures {
    bool single_issuer = false;
    bool defer_taskrun = false;
};

class Ring {
public:
    Ring() = default;
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Tries SINGLE_ISSUER|DEFER_TASKRUN, then SINGLE_ISSUER|COOP_TASKRUN, then no flags.
    Result<void> init(unsigned entries) noexcept;
    io_uring* raw() noexcept { return &ring_; }
    const RingFeatures& features() const noexcept { return features_; }

    // Never returns null: when the submission queue is full it submits first.
    io_uring_sqe* sqe() noexcept;
    int submit() noexcept { return io_uring_submit(&ring_); }

private:
    io_uring ring_{};
    bool inited_ = false;
    RingFeatures features_;
};

}  // namespace skjold::core
