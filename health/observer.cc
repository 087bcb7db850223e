#include "health/observer.hh"

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/assert.hh"

namespace skjold::health {

const char* observe_event_text(ObserveEvent ev) noexcept {
    // HAProxy's analyze_statuses[] descriptions.
    switch (ev) {
    case ObserveEvent::l4_ok: return "L4 successful connection";
    case ObserveEvent::l4_error: return "L4 unsuccessful connection";
    case ObserveEvent::l4_timeout: return "L4 unsuccessful connection";
    case ObserveEvent::http_ok: return "Correct http response";
    case ObserveEvent::http_status: return "Wrong http response";
    case ObserveEvent::http_invalid: return "Invalid http response (headers)";
    case ObserveEvent::http_read_error: return "Read error (http)";
    case ObserveEvent::http_read_timeout: return "Read timeout (http)";
    case ObserveEvent::http_broken_pipe: return "Close from server (http)";
    }
    return "Unknown";
}

int observe_verdict(conf::Observe mode, ObserveEvent ev) noexcept {
    switch (mode) {
    case conf::Observe::none:
        return 0;
    case conf::Observe::layer4:
        if (ev == ObserveEvent::l4_ok) return -1;
        if (ev == ObserveEvent::l4_error || ev == ObserveEvent::l4_timeout) return 1;
        return 0;
    case conf::Observe::layer7:
        if (ev == ObserveEvent::l4_ok) return 0;
        if (ev == ObserveEvent::http_ok) return -1;
        return 1;
    }
    return 0;
}

Observer::Observer(const conf::Snapshot& snap, unsigned nworkers) : nworkers_(nworkers == 0 ? 1 : nworkers) {
    base_.resize(snap.proxies.size() + 1, 0);
    for (std::size_t p = 0; p < snap.proxies.size(); ++p)
        base_[p + 1] = base_[p] + static_cast<std::uint32_t>(snap.proxies[p].servers.size());
    const std::size_t n = base_.back();
    mode_.assign(n, static_cast<std::uint8_t>(conf::Observe::none));
    where_.resize(n);
    errors_ = std::make_unique<std::atomic<std::int32_t>[]>(n);
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
        const conf::Proxy& px = snap.proxies[p];
        for (std::size_t s = 0; s < px.servers.size(); ++s) {
            const std::size_t g = base_[p] + s;
            where_[g] = {static_cast<int>(p), static_cast<int>(s)};
            const auto& o = px.servers[s].opt;
            if (px.is_backend && o.check && o.observe != conf::Observe::none) mode_[g] = static_cast<std::uint8_t>(o.observe);
        }
    }
    rings_ = std::make_unique<Ring[]>(nworkers_);
    for (unsigned w = 0; w < nworkers_; ++w) {
        rings_[w].slots = std::make_unique<std::uint64_t[]>(kRingSize);
        rings_[w].last_error = std::make_unique<std::uint8_t[]>(n == 0 ? 1 : n);
    }
    efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    SKJOLD_CHECK(efd_ >= 0, "eventfd for passive health observation");
}

Observer::~Observer() {
    if (efd_ >= 0) ::close(efd_);
}

int Observer::global_index(int proxy, int server) const noexcept {
    if (proxy < 0 || static_cast<std::size_t>(proxy) + 1 >= base_.size() || server < 0) return -1;
    const std::uint32_t g = base_[static_cast<std::size_t>(proxy)] + static_cast<std::uint32_t>(server);
    return g < base_[static_cast<std::size_t>(proxy) + 1] ? static_cast<int>(g) : -1;
}

bool Observer::observed(int proxy, int server) const noexcept {
    const int g = global_index(proxy, server);
    return g >= 0 && mode_[static_cast<std::size_t>(g)] != static_cast<std::uint8_t>(conf::Observe::none);
}

void Observer::report(unsigned worker, int proxy, int server, ObserveEvent ev) noexcept {
    const int gi = global_index(proxy, server);
    if (gi < 0 || worker >= nworkers_) return;
    const auto g = static_cast<std::size_t>(gi);
    const int verdict = observe_verdict(static_cast<conf::Observe>(mode_[g]), ev);
    if (verdict == 0) return;
    Ring& r = rings_[worker];
    if (verdict < 0) {
        // A success only matters if there are errors to reset.
        if (!r.last_error[g] && errors_[g].load(std::memory_order_relaxed) == 0) return;
        r.last_error[g] = 0;
    } else {
        r.last_error[g] = 1;
    }
    const std::uint32_t t = r.tail.load(std::memory_order_relaxed);
    if (t - r.head.load(std::memory_order_acquire) >= kRingSize) {
        r.dropped.add();
        return;
    }
    r.slots[t & (kRingSize - 1)] = (static_cast<std::uint64_t>(g) << 8) | static_cast<std::uint8_t>(ev);
    r.tail.store(t + 1, std::memory_order_release);
    if (verdict > 0) signal();
}

// One wake-up at a time: the flag is set by the first error after the checker cleared it. The
// fences order "event published" before "flag read" here and "flag cleared" before "rings read"
// in the checker, so an error either sees the flag clear (and writes) or is drained by the pass
// that follows the clear.
void Observer::signal() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_pending_.load(std::memory_order_relaxed) != 0) return;
    wake_pending_.store(1, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    const ssize_t n = ::write(efd_, &one, sizeof one);
    (void)n;   // EAGAIN: the counter is already non-zero, the checker wakes anyway
}

void Observer::clear_signal() noexcept {
    std::uint64_t v = 0;
    const ssize_t n = ::read(efd_, &v, sizeof v);
    (void)n;
    wake_pending_.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void Observer::set_errors(int proxy, int server, int n) noexcept {
    const int g = global_index(proxy, server);
    if (g >= 0) errors_[static_cast<std::size_t>(g)].store(n, std::memory_order_relaxed);
}

int Observer::errors(int proxy, int server) const noexcept {
    const int g = global_index(proxy, server);
    return g < 0 ? 0 : errors_[static_cast<std::size_t>(g)].load(std::memory_order_relaxed);
}

std::uint64_t Observer::dropped() const noexcept {
    std::uint64_t n = 0;
    for (unsigned w = 0; w < nworkers_; ++w) n += rings_[w].dropped.read();
    return n;
}

}  // namespace skjold::health
