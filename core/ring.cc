#include "core/ring.hh"

#include <cerrno>

namespace skjold::core {

Ring::~Ring() {
    if (inited_) io_uring_queue_exit(&ring_);
}

Result<void> Ring::init(unsigned entries) noexcept {
    struct Attempt { unsigned flags; RingFeatures f; };
    const Attempt attempts[] = {
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, {true, true}},
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, {true, false}},
        {IORING_SETUP_COOP_TASKRUN, {false, false}},
        {0, {false, false}},
    };
    int rc = -ENOSYS;
    for (const auto& a : attempts) {
        io_uring_params p{};
        p.flags = a.flags | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = entries * 4;
        p.flags |= IORING_SETUP_CQSIZE;
        rc = io_uring_queue_init_params(entries, &ring_, &p);
        if (rc == 0) {
            features_ = a.f;
            inited_ = true;
            return {};
        }
        if (rc != -EINVAL) break;
    }
    return fail(Errc::io, "io_uring_queue_init", -rc);
}

io_uring_sqe* Ring::sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
        io_uring_submit(&ring_);
        s = io_uring_get_sqe(&ring_);
    }
    return s;
}

}  // namespace skjold::core
