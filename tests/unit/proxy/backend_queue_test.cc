// The backend queue's FIFO (proxy/backend_queue.hh): order, removal from anywhere, the position
// a session joined at, and that a session is never in it twice.
#include <doctest/doctest.h>

#include <vector>

#include "proxy/backend_queue.hh"

using skjold::proxy::BackendQueue;
using skjold::proxy::QueueLink;

namespace {

struct Waiting {
    QueueLink queue;
};

// Pops every slot in queue order.
std::vector<std::uint32_t> drain(BackendQueue& q, std::vector<Waiting>& slots) {
    std::vector<std::uint32_t> order;
    while (!q.empty()) {
        std::uint32_t s = q.front();
        order.push_back(s);
        q.remove(slots, s);
    }
    return order;
}

}  // namespace

TEST_CASE("the backend queue serves sessions in the order they joined") {
    std::vector<Waiting> slots(8);
    BackendQueue q;
    for (std::uint32_t s : {5u, 2u, 7u, 0u}) q.push_back(slots, s, 100 + s);
    CHECK(q.size() == 4);
    CHECK(q.front() == 5);
    CHECK(slots[7].queue.since == 107);
    CHECK(slots[7].queue.ahead == 2);
    CHECK(drain(q, slots) == std::vector<std::uint32_t>{5, 2, 7, 0});
    CHECK(q.front() == QueueLink::kEnd);
    for (const auto& w : slots) CHECK_FALSE(w.queue.queued);
}

TEST_CASE("a session leaving from the middle, the head or the tail keeps the others in order") {
    std::vector<Waiting> slots(6);
    BackendQueue q;
    for (std::uint32_t s = 0; s < 6; ++s) q.push_back(slots, s, 1);
    q.remove(slots, 3);   // middle
    q.remove(slots, 0);   // head
    q.remove(slots, 5);   // tail
    CHECK(q.size() == 3);
    q.push_back(slots, 3, 2);   // rejoins at the end
    CHECK(drain(q, slots) == std::vector<std::uint32_t>{1, 2, 4, 3});
}

TEST_CASE("joining twice or leaving when not queued changes nothing") {
    std::vector<Waiting> slots(3);
    BackendQueue q;
    q.push_back(slots, 1, 10);
    q.push_back(slots, 1, 20);
    CHECK(q.size() == 1);
    CHECK(slots[1].queue.since == 10);
    q.remove(slots, 2);
    CHECK(q.size() == 1);
    q.remove(slots, 1);
    q.remove(slots, 1);
    CHECK(q.empty());
    CHECK(q.front() == QueueLink::kEnd);
}
