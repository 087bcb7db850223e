#pragma once
// Control -> worker messages: a single-producer single-consumer queue plus an eventfd the
// worker's ring keeps a read armed on. Producer: the control thread only. Consumer: the worker.

#include <array>
#include <atomic>
#include <cstdint>

namespace skjold::core {

struct Message {
    std::uint32_t kind = 0;
    std::uint64_t arg = 0;
    void* ptr = nullptr;
};

class Mailbox {
public:
    static constexpr std::uint32_t kCapacity = 256;
    Mailbox();
    ~Mailbox();
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    // Producer side. False when full (the control thread retries later).
    bool post(const Message& m) noexcept;
    // Consumer side.
    bool pop(Message& out) noexcept;
    int event_fd() const noexcept { return efd_; }

private:
    std::array<Message, kCapacity> q_{};
    alignas(64) std::atomic<std::uint32_t> head_{0};   // consumer
    alignas(64) std::atomic<std::uint32_t> tail_{0};   // producer
    int efd_ = -1;
};

}  // namespace skjold::core
