#include "core/mailbox.hh"

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/assert.hh"

namespace skjold::core {

Mailbox::Mailbox() {
    efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    SKJOLD_CHECK(efd_ >= 0, "eventfd for a worker mailbox");
}

Mailbox::~Mailbox() {
    if (efd_ >= 0) close(efd_);
}

bool Mailbox::post(const Message& m) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) >= kCapacity) return false;
    q_[t % kCapacity] = m;
    tail_.store(t + 1, std::memory_order_release);
    std::uint64_t one = 1;
    ssize_t w = write(efd_, &one, sizeof one);
    (void)w;
    return true;
}

bool Mailbox::pop(Message& out) noexcept {
    std::uint32_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return false;
    out = q_[h % kCapacity];
    head_.store(h + 1, std::memory_order_release);
    return true;
}

}  // namespace skjold::core
