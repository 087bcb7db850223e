#pragma once
// Passive health observation (`observe layer4|layer7`, `error-limit`, `on-error`): workers report
// what they see on live traffic; the checker thread counts consecutive errors per server and, at
// error-limit, applies on-error (HAProxy's src/check.c __health_adjust()).
//
// Threading: one single-producer single-consumer ring per worker, producer = that worker,
// consumer = the checker thread. report() is lock-free, allocation-free and makes no system call
// except an eventfd write when an error needs the checker (at most one pending wake-up is
// signalled at a time). Successes are not signalled: the checker reads them at its next wake-up,
// before the errors behind them. A full ring drops the event (counted in dropped()).
//
// Which events count (HAProxy's analyze_statuses[]):
//   layer4: l4_ok resets the count; l4_error and l4_timeout count; HTTP events are ignored.
//   layer7: http_ok resets; l4_error, l4_timeout and every other http_* count; l4_ok is ignored.
// Per worker, a success is queued only when it can matter: when the server has errors counted,
// or when this worker's last report about it was an error. So a healthy server costs one
// relaxed load per report and nothing on the checker thread. Across workers this makes
// "consecutive" approximate (a success racing an error still in another worker's ring may be
// skipped), as HAProxy's own counter is across its threads.
//
// A server is observed only with `observe` AND `check` (configuration.txt: observing "requires
// to enable health checks"; without checks a server marked down would never come back).
//
// Owner: the process creates it before the workers (they hold a pointer) and passes it to the
// Checker, which consumes it; it must outlive both.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/counter.hh"

namespace skjold::health {

enum class ObserveEvent : std::uint8_t {
    l4_ok,               // connected to the server                        (HANA L4_OK)
    l4_error,            // connect refused, reset, unreachable             (L4_ERR)
    l4_timeout,          // `timeout connect` expired                        (L4_ERR)
    http_ok,             // a response status 100..499, 501 or 505           (HTTP_OK)
    http_status,         // any other status, i.e. 5xx but 501 and 505       (HTTP_STS)
    http_invalid,        // unparsable response head                         (HTTP_HDRRSP)
    http_read_error,     // error while reading the response                 (HTTP_READ_ERROR)
    http_read_timeout,   // `timeout server` before the response head        (HTTP_READ_TIMEOUT)
    http_broken_pipe,    // server closed before the response was complete   (HTTP_BROKEN_PIPE)
};
inline constexpr int kObserveEventCount = 9;

// http_ok for 100..499, 501 and 505; http_status for anything else (configuration.txt, observe).
inline constexpr ObserveEvent observe_http_status(int status) noexcept {
    return (status >= 100 && status <= 499) || status == 501 || status == 505 ? ObserveEvent::http_ok
                                                                              : ObserveEvent::http_status;
}
// HAProxy's words for an event ("L4 unsuccessful connection"), used in the check description
// "Detected 3 consecutive errors, last one was: ...".
const char* observe_event_text(ObserveEvent ev) noexcept;
// What an event means to a server observing in `mode`: +1 error, 0 ignored, -1 success (reset).
int observe_verdict(conf::Observe mode, ObserveEvent ev) noexcept;

class Observer {
public:
    static constexpr std::uint32_t kRingSize = 4096;   // events per worker ring, power of two

    Observer(const conf::Snapshot& snap, unsigned nworkers);
    ~Observer();
    Observer(const Observer&) = delete;
    Observer& operator=(const Observer&) = delete;

    // --- worker side -------------------------------------------------------------------------
    // Called by worker `worker` (0..nworkers-1) about server `server` of backend `proxy`
    // (indexes into Snapshot::proxies and conf::Proxy::servers). A no-op for a server that is
    // not observed or an event its mode ignores. noexcept, lock-free, no allocation.
    void report(unsigned worker, int proxy, int server, ObserveEvent ev) noexcept;
    // True if report() may do anything for this server (callers may skip building an event).
    bool observed(int proxy, int server) const noexcept;

    // --- checker side ------------------------------------------------------------------------
    int event_fd() const noexcept { return efd_; }   // readable when an error is waiting
    // Pops every queued event of every worker, in each worker's order, calling
    // fn(proxy, server, ev). Clears the wake-up first, so an event pushed meanwhile wakes again.
    template <class F>
    void drain(F&& fn) noexcept;
    // The checker publishes each server's consecutive error count here (workers read it to
    // decide whether a success is worth queueing).
    void set_errors(int proxy, int server, int n) noexcept;
    int errors(int proxy, int server) const noexcept;

    std::uint64_t dropped() const noexcept;   // events lost to full rings, all workers
    unsigned workers() const noexcept { return nworkers_; }
    int global_index(int proxy, int server) const noexcept;   // -1 when out of range

private:
    // One worker's ring. The producer's and the consumer's indexes sit on separate lines.
    struct alignas(64) Ring {
        std::atomic<std::uint32_t> head{0};              // consumer (checker)
        alignas(64) std::atomic<std::uint32_t> tail{0};  // producer (worker)
        core::Counter dropped;
        std::unique_ptr<std::uint64_t[]> slots;          // (global server index << 8) | event
        std::unique_ptr<std::uint8_t[]> last_error;      // per server: last report was an error
    };
    void signal() noexcept;
    void clear_signal() noexcept;

    unsigned nworkers_ = 1;
    std::vector<std::uint32_t> base_;                    // proxy -> first global server index
    std::vector<std::uint8_t> mode_;                     // per global server: conf::Observe, none if not observed
    std::vector<std::pair<int, int>> where_;             // global index -> (proxy, server)
    std::unique_ptr<std::atomic<std::int32_t>[]> errors_;   // per global server, written by the checker
    std::unique_ptr<Ring[]> rings_;
    alignas(64) std::atomic<std::uint8_t> wake_pending_{0};
    int efd_ = -1;
};

template <class F>
void Observer::drain(F&& fn) noexcept {
    clear_signal();
    for (unsigned w = 0; w < nworkers_; ++w) {
        Ring& r = rings_[w];
        std::uint32_t head = r.head.load(std::memory_order_relaxed);
        const std::uint32_t tail = r.tail.load(std::memory_order_acquire);
        for (; head != tail; ++head) {
            const std::uint64_t e = r.slots[head & (kRingSize - 1)];
            const auto g = static_cast<std::size_t>(e >> 8);
            if (g < where_.size()) fn(where_[g].first, where_[g].second, static_cast<ObserveEvent>(e & 0xff));
        }
        r.head.store(head, std::memory_order_release);
    }
}

}  // namespace skjold::health
