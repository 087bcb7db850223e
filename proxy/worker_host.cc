#include "proxy/worker_host.hh"

#include "core/log.hh"

namespace skjold::proxy {

WorkerHost::WorkerHost(unsigned index, std::uint32_t buffer_size) noexcept
    : index_(index), buffer_size_(buffer_size) {}

void WorkerHost::thread_main(int cpu, WorkerRuntime* first) noexcept {
    if (cpu >= 0) {
        if (auto r = core::pin_current_thread(cpu); !r)
            SKJOLD_LOG(warning, "worker {}: cannot pin to CPU {}: {}", index_, cpu, core::describe(r.error()));
    }
    core::Worker worker(index_, mailbox_);
    core::Worker::Options o;
    o.buffer_size = buffer_size_;
    if (auto r = worker.init(o); !r) {
        failure_ = "io_uring set-up failed: " + core::describe(r.error());
        phase_.store(static_cast<int>(Phase::failed), std::memory_order_release);
        return;
    }
    worker_ = &worker;
    adopt(first);
    phase_.store(static_cast<int>(Phase::running), std::memory_order_release);
    worker.run(*this);
    worker_ = nullptr;
    phase_.store(static_cast<int>(Phase::done), std::memory_order_release);
}

void WorkerHost::adopt(WorkerRuntime* next) noexcept {
    int slot = -1;
    for (unsigned i = 0; i < kMaxRuntimes; ++i) {
        // The slot after the current one first, so a freed slot is not reused at once (a
        // stray completion of the old runtime, e.g. a cancel's own CQE, stays harmless).
        unsigned s = (static_cast<unsigned>(current_ + 1) + i) % kMaxRuntimes;
        if (runtimes_[s] == nullptr) {
            slot = static_cast<int>(s);
            break;
        }
    }
    if (slot < 0) {   // the control thread never sends more generations than there are slots
        SKJOLD_LOG(err, "worker {}: no free generation slot; reload ignored on this worker", index_);
        next->detach();
        return;
    }
    runtimes_[slot] = next;
    next->attach(*worker_, static_cast<std::uint8_t>(slot));
    if (current_ >= 0) runtimes_[current_]->retire(*next);
    current_ = slot;
    if (stopping_) next->on_message({kMsgStop, 0, nullptr});
}

void WorkerHost::on_completion(const io_uring_cqe& cqe) noexcept {
    unsigned slot = core::UserData::unpack(cqe.user_data).op >> (8 - kHostBits);
    if (WorkerRuntime* rt = runtimes_[slot]) {
        rt->on_completion(cqe);
        return;
    }
    // Its runtime is gone (only untracked completions can outlive it, such as a cancel's own
    // CQE): keep the buffer ring whole.
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        worker_->buffers().taken();
        worker_->buffers().recycle(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    }
}

void WorkerHost::on_message(const core::Message& m) noexcept {
    if (m.kind == kMsgAdopt) {
        adopt(static_cast<WorkerRuntime*>(m.ptr));
        return;
    }
    if (m.kind == kMsgStop) stopping_ = true;
    for (WorkerRuntime* rt : runtimes_)
        if (rt != nullptr) rt->on_message(m);
}

void WorkerHost::on_timer(core::TimerNode* node) noexcept {
    const auto* tag = reinterpret_cast<const TaggedTimer*>(node);
    if (WorkerRuntime* rt = runtimes_[tag->host % kMaxRuntimes]) rt->on_timer(node);
}

void WorkerHost::after_batch() noexcept {
    for (unsigned i = 0; i < kMaxRuntimes; ++i) {
        WorkerRuntime* rt = runtimes_[i];
        if (rt == nullptr) continue;
        rt->after_batch();
        if (rt->finished()) {
            // A retired generation whose last session ended (or every one, when stopping).
            rt->detach();
            runtimes_[i] = nullptr;
            if (static_cast<int>(i) == current_) current_ = -1;
        }
    }
}

bool WorkerHost::finished() const noexcept {
    if (!stopping_) return false;
    for (WorkerRuntime* rt : runtimes_)
        if (rt != nullptr) return false;
    return true;
}

}  // namespace skjold::proxy
