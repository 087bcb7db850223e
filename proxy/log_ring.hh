#pragma once
// One worker's access-log ring: fixed-size slots allocated once, single producer (the worker,
// which formats each line straight into a slot) and single consumer (the control thread's
// LogDrain). A full ring drops the record and counts it (DroppedLogs): a worker never waits
// for logging, and no lock or allocation happens on its side.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/counter.hh"

namespace skjold::proxy {

class LogRing {
public:
    // `slots` is rounded up to a power of two (at least 2); each slot holds a line of up to
    // `text_capacity` bytes (longer lines are cut there).
    LogRing(std::size_t slots, std::size_t text_capacity);
    LogRing(const LogRing&) = delete;
    LogRing& operator=(const LogRing&) = delete;

    // --- producer (the owning worker) -------------------------------------------------
    // The text area of the next free slot (text_capacity() bytes), or nullptr when the ring is
    // full, in which case the record is dropped and counted. Nothing is published until commit().
    char* reserve() noexcept;
    // Publishes the slot reserve() returned: `len` bytes of text (cut to text_capacity()), the
    // proxy whose targets receive it, its syslog level (0 emerg .. 7 debug) and its time
    // (wall clock, microseconds since the epoch). `generation`: the configuration generation
    // whose proxy index `proxy` is (a reload may renumber the proxies; 0: the drain's newest).
    void commit(int proxy, int level, std::int64_t time_us, std::size_t len, std::uint32_t generation = 0) noexcept;
    // reserve() + copy + commit(); false when the record was dropped.
    bool push(int proxy, int level, std::int64_t time_us, std::string_view text,
              std::uint32_t generation = 0) noexcept;

    // --- consumer (the control thread) -------------------------------------------------
    struct Record {
        int proxy;
        int level;
        std::int64_t time_us;
        std::string_view text;   // valid until `f` returns
        std::uint32_t generation;
    };
    // Calls f(const Record&) for up to `max` published records, oldest first, then frees their
    // slots. Returns how many it handed out.
    template <class F>
    std::size_t drain(F&& f, std::size_t max = static_cast<std::size_t>(-1)) noexcept;

    // --- either side ---------------------------------------------------------------------
    std::size_t capacity() const noexcept { return mask_ + 1; }
    std::size_t text_capacity() const noexcept { return text_cap_; }
    std::uint64_t dropped() const noexcept { return dropped_.read(); }   // full-ring drops

private:
    struct Header {
        std::int64_t time_us;
        std::int32_t proxy;
        std::uint32_t len;
        std::int32_t level;
        std::uint32_t generation;
    };
    Header& header(std::uint64_t seq) noexcept;
    char* text(std::uint64_t seq) noexcept;

    std::size_t mask_ = 0;
    std::size_t text_cap_ = 0;
    std::size_t stride_ = 0;
    std::unique_ptr<std::byte[]> mem_;
    // head_: next sequence the producer writes (written by the producer only);
    // tail_: next sequence the consumer reads (written by the consumer only).
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::uint64_t tail_cache_ = 0;   // producer's last view of tail_
    core::Counter dropped_;          // producer only
    alignas(64) std::atomic<std::uint64_t> tail_{0};
};

template <class F>
std::size_t LogRing::drain(F&& f, std::size_t max) noexcept {
    std::uint64_t t = tail_.load(std::memory_order_relaxed);
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    std::size_t n = 0;
    while (t != h && n < max) {
        const Header& hd = header(t);
        f(Record{hd.proxy, hd.level, hd.time_us, std::string_view(text(t), hd.len), hd.generation});
        ++t;
        ++n;
    }
    tail_.store(t, std::memory_order_release);
    return n;
}

}  // namespace skjold::proxy
