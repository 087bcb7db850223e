#include "core/timer_wheel.hh"

namespace skjold::core {

TimerWheel::TimerWheel(std::uint64_t now_ms) noexcept : cursor_(now_ms) {
    for (auto& s : slots_) s.prev = s.next = &s;
}

void TimerWheel::unlink(TimerNode& n) noexcept {
    n.prev->next = n.next;
    n.next->prev = n.prev;
    n.prev = n.next = nullptr;
}

void TimerWheel::link(TimerNode& n) noexcept {
    // A deadline already past goes into the next slot to be processed.
    std::uint64_t tick = n.deadline < cursor_ ? cursor_ : n.deadline;
    TimerNode& head = slots_[tick & (kSlots - 1)];
    n.prev = head.prev;
    n.next = &head;
    head.prev->next = &n;
    head.prev = &n;
}

void TimerWheel::arm(TimerNode& n, std::uint64_t deadline_ms) noexcept {
    if (n.armed()) {
        unlink(n);
        --count_;
    }
    n.deadline = deadline_ms;
    link(n);
    ++count_;
}

void TimerWheel::cancel(TimerNode& n) noexcept {
    if (!n.armed()) return;
    unlink(n);
    --count_;
}

std::uint64_t TimerWheel::next_wait(std::uint64_t now_ms, std::uint64_t cap) const noexcept {
    if (count_ == 0) return cap;
    // Scan forward from the cursor for the first non-empty slot, bounded by `cap` ticks.
    std::uint64_t limit = cap < kSlots ? cap : kSlots;
    for (std::uint64_t i = 0; i <= limit; ++i) {
        std::uint64_t tick = cursor_ + i;
        const TimerNode& head = slots_[tick & (kSlots - 1)];
        if (head.next != &head) return tick <= now_ms ? 0 : tick - now_ms;
    }
    return cap;
}

}  // namespace skjold::core
