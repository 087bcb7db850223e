#include "core/worker.hh"

#include <cerrno>
#include <ctime>
#include <pthread.h>
#include <sched.h>

namespace skjold::core {

std::uint64_t monotonic_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

std::vector<int> allowed_cpus() {
    std::vector<int> out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return {0};
    for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &set)) out.push_back(i);
    if (out.empty()) out.push_back(0);
    return out;
}

Result<void> pin_current_thread(int cpu) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) return fail(Errc::io, "pthread_setaffinity_np", rc);
    return {};
}

Worker::Worker(unsigned index, Mailbox& mailbox) noexcept
    : index_(index), mailbox_(mailbox), timers_(monotonic_ms()), now_(monotonic_ms()) {}

Result<void> Worker::init(const Options& o) noexcept {
    if (auto r = ring_.init(o.ring_entries); !r) return r;
    if (auto r = buffers_.init(ring_, 0, o.buffers, o.buffer_size); !r) return r;
    arm_wake();
    return {};
}

void Worker::arm_wake() noexcept {
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_read(s, mailbox_.event_fd(), &wake_buf_, sizeof wake_buf_, 0);
    io_uring_sqe_set_data64(s, UserData::pack(kOpWake, 0, 0));
}

void Worker::run(Handler& h) noexcept {
    while (!h.finished()) {
        std::uint64_t wait = timers_.next_wait(now_, 1000);
        __kernel_timespec ts{};
        ts.tv_sec = static_cast<long long>(wait / 1000);
        ts.tv_nsec = static_cast<long long>((wait % 1000) * 1000000);
        io_uring_cqe* first = nullptr;
        int rc = io_uring_submit_and_wait_timeout(ring_.raw(), &first, 1, &ts, nullptr);
        (void)rc;   // -ETIME and -EINTR just mean "look at timers and go round"
        now_ = monotonic_ms();

        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        bool woken = false;
        io_uring_for_each_cqe(ring_.raw(), head, cqe) {
            ++seen;
            if (UserData::unpack(cqe->user_data).op == kOpWake) {
                woken = true;
                continue;
            }
            h.on_completion(*cqe);
        }
        io_uring_cq_advance(ring_.raw(), seen);
        if (woken) {
            arm_wake();
            Message m;
            while (mailbox_.pop(m)) h.on_message(m);
        }
        timers_.advance(now_, [&](TimerNode* n) { h.on_timer(n); });
        h.after_batch();
    }
    io_uring_submit(ring_.raw());
}

}  // namespace skjold::core
