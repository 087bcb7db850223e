#pragma once
// A hashed timer wheel with millisecond ticks. One per worker; owner: that worker's thread.
// Timers are intrusive nodes embedded in their owner (a session), so arming costs no
// allocation and a session holds at most one pending deadline. Deadlines beyond one turn of
// the wheel stay in their slot and are skipped until their turn comes (checked on expiry).

#include <cstdint>

namespace skjold::core {

struct TimerNode {
    TimerNode* prev = nullptr;
    TimerNode* next = nullptr;
    std::uint64_t deadline = 0;      // ms on the worker's monotonic clock
    bool armed() const noexcept { return prev != nullptr; }
};

class TimerWheel {
public:
    static constexpr std::uint32_t kSlots = 4096;   // power of two; ~4 s per turn at 1 ms

    explicit TimerWheel(std::uint64_t now_ms) noexcept;
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    void arm(TimerNode& n, std::uint64_t deadline_ms) noexcept;   // re-arms if already armed
    void cancel(TimerNode& n) noexcept;

    // Calls fire(node) for every node whose deadline <= now_ms. A callback may arm or cancel
    // any timer, including the one being fired. Returns the number fired.
    template <class F>
    std::uint32_t advance(std::uint64_t now_ms, F&& fire) noexcept;

    // Milliseconds until the next tick that has work, capped at `cap`; 0 when overdue.
    std::uint64_t next_wait(std::uint64_t now_ms, std::uint64_t cap) const noexcept;
    std::uint32_t size() const noexcept { return count_; }

private:
    TimerNode slots_[kSlots];        // sentinels of circular lists
    std::uint64_t cursor_;           // the next tick to process
    std::uint32_t count_ = 0;

    static void unlink(TimerNode& n) noexcept;
    void link(TimerNode& n) noexcept;
};

template <class F>
std::uint32_t TimerWheel::advance(std::uint64_t now_ms, F&& fire) noexcept {
    std::uint32_t fired = 0;
    // Never walk more than one full turn: beyond that every slot has been visited once.
    std::uint64_t end = now_ms;
    if (end > cursor_ + kSlots) cursor_ = end - kSlots;
    while (cursor_ <= end) {
        TimerNode& head = slots_[cursor_ & (kSlots - 1)];
        // Detach the due ones into a local list first and move the cursor past this tick,
        // so a callback that re-arms lands in a slot still to be visited.
        TimerNode due;
        due.prev = due.next = &due;
        for (TimerNode* n = head.next; n != &head;) {
            TimerNode* nx = n->next;
            if (n->deadline <= now_ms) {
                unlink(*n);
                n->prev = due.prev;
                n->next = &due;
                due.prev->next = n;
                due.prev = n;
            }
            n = nx;
        }
        ++cursor_;
        while (due.next != &due) {
            TimerNode* n = due.next;
            due.next = n->next;
            n->next->prev = &due;
            n->prev = n->next = nullptr;
            --count_;
            ++fired;
            fire(n);
        }
    }
    return fired;
}

}  // namespace skjold::core
