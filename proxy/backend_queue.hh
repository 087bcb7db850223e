#pragma once
// Sessions waiting for a server slot (server `maxconn`) of one backend on one worker: HAProxy's
// backend queue, bounded in time by `timeout queue`.
//
// Owner: one worker thread; one BackendQueue per backend per WorkerRuntime (so per configuration
// generation), next to that backend's Balancer. Like the Balancer's maxconn share, the queue is
// per worker: a session waits for a slot of this worker's share, and a slot freed on another
// core does not serve it (HAProxy shares one queue between its threads).
//
// FIFO and intrusive: the links live in the waiting session (QueueLink), so queueing allocates
// nothing and removing a session from the middle (it aborted, or timed out) is O(1). `Slots` is
// anything indexable by slot whose elements have a `QueueLink queue` member (the worker's
// core::Slab<TcpSession>; a vector in the unit test).

#include <cstdint>

namespace skjold::proxy {

struct QueueLink {
    static constexpr std::uint32_t kEnd = 0xFFFFFFFFu;
    std::uint32_t prev = kEnd, next = kEnd;
    bool queued = false;
    std::uint64_t since = 0;      // worker clock (ms) when it joined the queue; 0: never queued
    std::uint32_t ahead = 0;      // sessions waiting before it when it joined (log %bq)
};

class BackendQueue {
public:
    std::uint32_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::uint32_t front() const noexcept { return head_; }   // QueueLink::kEnd when empty

    template <class Slots>
    void push_back(Slots& slots, std::uint32_t slot, std::uint64_t now) noexcept {
        QueueLink& l = slots[slot].queue;
        if (l.queued) return;
        l.queued = true;
        l.since = now;
        l.ahead = size_;
        l.next = QueueLink::kEnd;
        l.prev = tail_;
        if (tail_ != QueueLink::kEnd) slots[tail_].queue.next = slot;
        else head_ = slot;
        tail_ = slot;
        ++size_;
    }

    // Takes `slot` out wherever it is; a session that is not queued is left alone.
    template <class Slots>
    void remove(Slots& slots, std::uint32_t slot) noexcept {
        QueueLink& l = slots[slot].queue;
        if (!l.queued) return;
        if (l.prev != QueueLink::kEnd) slots[l.prev].queue.next = l.next;
        else head_ = l.next;
        if (l.next != QueueLink::kEnd) slots[l.next].queue.prev = l.prev;
        else tail_ = l.prev;
        l.prev = l.next = QueueLink::kEnd;
        l.queued = false;
        --size_;
    }

private:
    std::uint32_t head_ = QueueLink::kEnd, tail_ = QueueLink::kEnd;
    std::uint32_t size_ = 0;
};

}  // namespace skjold::proxy
