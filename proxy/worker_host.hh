#pragma once
// One worker thread: its core::Worker (ring, provided buffers, timers, mailbox) and the
// WorkerRuntimes on it, one per configuration generation still alive there. The newest takes
// new connections; after a reload (kMsgAdopt) the previous one retires: it stops accepting
// and its sessions finish on the Snapshot they started with. A completion or a timer finds
// its runtime by the host slot in its op (WorkerRuntime::pack) or timer tag.
//
// Owner: the process. thread_main runs on the worker's thread; the control thread talks to
// it only through the mailbox and reads phase(). Runtimes belong to their Generation (the
// control thread frees them once detached()).

#include <array>
#include <atomic>
#include <string>

#include "core/mailbox.hh"
#include "core/worker.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

class WorkerHost final : public core::Worker::Handler {
public:
    WorkerHost(unsigned index, std::uint32_t buffer_size) noexcept;

    // Ring set-up, `first` attached, then the loop until every runtime has stopped.
    void thread_main(int cpu, WorkerRuntime* first) noexcept;
    core::Mailbox& mailbox() noexcept { return mailbox_; }
    enum class Phase : int { starting, running, failed, done };
    Phase phase() const noexcept { return static_cast<Phase>(phase_.load(std::memory_order_acquire)); }
    const std::string& failure() const noexcept { return failure_; }

    // core::Worker::Handler
    void on_completion(const io_uring_cqe& cqe) noexcept override;
    void on_message(const core::Message& m) noexcept override;
    void on_timer(core::TimerNode* node) noexcept override;
    void after_batch() noexcept override;
    bool finished() const noexcept override;

private:
    void adopt(WorkerRuntime* next) noexcept;

    unsigned index_;
    std::uint32_t buffer_size_;
    core::Mailbox mailbox_;
    core::Worker* worker_ = nullptr;                        // lives on thread_main's stack
    std::array<WorkerRuntime*, kMaxRuntimes> runtimes_{};   // by host slot; null: free
    int current_ = -1;                                      // the newest generation's slot
    bool stopping_ = false;
    std::atomic<int> phase_{0};
    std::string failure_;
};

}  // namespace skjold::proxy
