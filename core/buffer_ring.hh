#pragma once
// Provided-buffer ring for receives. One per worker; owner: that worker's thread.
// The kernel picks a buffer per receive; the owner gives it back (recycle) once its bytes
// have been sent on. Per-buffer bookkeeping (length, send offset, queue link) lives here
// so a session's queue of received buffers costs the session only a head and a tail.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.hh"
#include "core/ring.hh"

namespace skjold::core {

inline constexpr std::uint16_t kNoBuffer = 0xFFFF;

class BufferRing {
public:
    BufferRing() = default;
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    // count: power of two <= 32768. size: bytes per buffer.
    Result<void> init(Ring& ring, std::uint16_t group, std::uint32_t count, std::uint32_t size) noexcept;

    std::uint16_t group() const noexcept { return group_; }
    std::uint32_t size() const noexcept { return size_; }
    std::uint8_t* data(std::uint16_t bid) noexcept { return base_ + std::size_t{bid} * size_; }
    void recycle(std::uint16_t bid) noexcept;
    std::uint32_t available() const noexcept { return available_; }
    std::uint32_t count() const noexcept { return count_; }

    // Bookkeeping for the bytes a buffer holds, and a link for per-session FIFO queues.
    struct Meta {
        std::uint32_t len = 0;
        std::uint32_t off = 0;
        std::uint16_t next = kNoBuffer;
    };
    Meta& meta(std::uint16_t bid) noexcept { return meta_[bid]; }
    // Called by the owner when the kernel handed out a buffer (a receive completed).
    void taken() noexcept { --available_; }

private:
    Ring* ring_ = nullptr;
    io_uring_buf_ring* br_ = nullptr;
    std::uint8_t* base_ = nullptr;
    std::size_t map_len_ = 0;
    std::uint16_t group_ = 0;
    std::uint32_t count_ = 0, size_ = 0, available_ = 0;
    std::vector<Meta> meta_;
};

// A FIFO of received buffers (one direction of a relay). Lives in the session.
struct BufferQueue {
    std::uint16_t head = kNoBuffer, tail = kNoBuffer;
    std::uint32_t bytes = 0;
    bool empty() const noexcept { return head == kNoBuffer; }
    void push(BufferRing& br, std::uint16_t bid, std::uint32_t len) noexcept;
    // Consumes n bytes from the head; recycles buffers that are fully consumed.
    void consume(BufferRing& br, std::uint32_t n) noexcept;
    void clear(BufferRing& br) noexcept;
};

}  // namespace skjold::core
