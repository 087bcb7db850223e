#pragma once
// The per-core event loop: one ring, one provided-buffer ring, one timer wheel, one mailbox.
// Owner: the worker's own thread (created, run and destroyed there). Knows no protocol:
// completions, messages and expired timers go to the Handler the proxy layer supplies.

#include <cstdint>
#include <vector>

#include "core/buffer_ring.hh"
#include "core/mailbox.hh"
#include "core/result.hh"
#include "core/ring.hh"
#include "core/timer_wheel.hh"

namespace skjold::core {

inline constexpr std::uint8_t kOpWake = 0xFF;   // the mailbox eventfd read

std::uint64_t monotonic_ms() noexcept;
// CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> allowed_cpus();
Result<void> pin_current_thread(int cpu) noexcept;

class Worker {
public:
    class Handler {
    public:
        virtual void on_completion(const io_uring_cqe& cqe) noexcept = 0;
        virtual void on_message(const Message& m) noexcept = 0;
        virtual void on_timer(TimerNode* node) noexcept = 0;
        virtual void after_batch() noexcept {}
        virtual bool finished() const noexcept = 0;   // the loop ends when true
    protected:
        ~Handler() = default;
    };

    struct Options {
        unsigned ring_entries = 1024;
        std::uint32_t buffers = 1024;     // power of two
        std::uint32_t buffer_size = 16384;
    };

    Worker(unsigned index, Mailbox& mailbox) noexcept;
    // Must run on the worker's own thread (SINGLE_ISSUER binds the ring to its creator).
    Result<void> init(const Options& o) noexcept;
    void run(Handler& h) noexcept;

    unsigned index() const noexcept { return index_; }
    Ring& ring() noexcept { return ring_; }
    BufferRing& buffers() noexcept { return buffers_; }
    TimerWheel& timers() noexcept { return timers_; }
    std::uint64_t now() const noexcept { return now_; }   // refreshed once per completion batch

private:
    void arm_wake() noexcept;

    unsigned index_;
    Mailbox& mailbox_;
    Ring ring_;
    BufferRing buffers_;
    TimerWheel timers_;
    std::uint64_t now_;
    std::uint64_t wake_buf_ = 0;
};

}  // namespace skjold::core
