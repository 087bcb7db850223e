#include "core/buffer_ring.hh"

#include <cerrno>
#include <sys/mman.h>

namespace skjold::core {

BufferRing::~BufferRing() {
    if (br_ != nullptr && ring_ != nullptr) {
        io_uring_unregister_buf_ring(ring_->raw(), group_);
        munmap(br_, map_len_);
    }
}

Result<void> BufferRing::init(Ring& ring, std::uint16_t group, std::uint32_t count, std::uint32_t size) noexcept {
    if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return fail(Errc::invalid_argument, "buffer count");
    ring_ = &ring;
    group_ = group;
    count_ = count;
    size_ = size;
    std::size_t ring_bytes = sizeof(io_uring_buf) * count;
    map_len_ = ring_bytes + std::size_t{count} * size;
    void* p = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail(Errc::no_memory, "mmap buffer ring", errno);
    br_ = static_cast<io_uring_buf_ring*>(p);
    base_ = static_cast<std::uint8_t*>(p) + ring_bytes;
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(br_);
    reg.ring_entries = count;
    reg.bgid = group;
    int rc = io_uring_register_buf_ring(ring.raw(), &reg, 0);
    if (rc != 0) {
        munmap(p, map_len_);
        br_ = nullptr;
        return fail(Errc::io, "io_uring_register_buf_ring", -rc);
    }
    io_uring_buf_ring_init(br_);
    meta_.assign(count, Meta{});
    for (std::uint32_t i = 0; i < count; ++i)
        io_uring_buf_ring_add(br_, data(static_cast<std::uint16_t>(i)), size, static_cast<std::uint16_t>(i),
                              io_uring_buf_ring_mask(count), static_cast<int>(i));
    io_uring_buf_ring_advance(br_, static_cast<int>(count));
    available_ = count;
    return {};
}

void BufferRing::recycle(std::uint16_t bid) noexcept {
    meta_[bid] = Meta{};
    io_uring_buf_ring_add(br_, data(bid), size_, bid, io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(br_, 1);
    ++available_;
}

void BufferQueue::push(BufferRing& br, std::uint16_t bid, std::uint32_t len) noexcept {
    auto& m = br.meta(bid);
    m.len = len;
    m.off = 0;
    m.next = kNoBuffer;
    if (tail == kNoBuffer) head = bid;
    else br.meta(tail).next = bid;
    tail = bid;
    bytes += len;
}

void BufferQueue::consume(BufferRing& br, std::uint32_t n) noexcept {
    bytes -= n;
    while (n > 0 && head != kNoBuffer) {
        auto& m = br.meta(head);
        std::uint32_t left = m.len - m.off;
        std::uint32_t take = n < left ? n : left;
        m.off += take;
        n -= take;
        if (m.off == m.len) {
            std::uint16_t done = head;
            head = m.next;
            if (head == kNoBuffer) tail = kNoBuffer;
            br.recycle(done);
        }
    }
}

void BufferQueue::clear(BufferRing& br) noexcept {
    while (head != kNoBuffer) {
        std::uint16_t done = head;
        head = br.meta(done).next;
        br.recycle(done);
    }
    tail = kNoBuffer;
    bytes = 0;
}

}  // namespace skjold::core
