#pragma once
// Rate limits for repeated log lines on the data path ("refused PROXY header", "connect failed"):
// at most `burst` lines per `interval_ms` for each key; the occurrences dropped in between are
// counted and the next line that gets through says how many there were, so nothing is lost from
// the log but its volume (a flood of bad clients writes one line a second, not one per client).
//
// Owner: one thread (each worker keeps its own limiters): plain members, no atomics, no locks, no
// allocation, no clock of its own (the caller passes its monotonic milliseconds, the worker's
// now()). Per worker, so with N workers up to N lines per interval reach the log: approximate on
// purpose, as every per-worker policy is (STYLE.md).
//
//   if (auto a = refused_proxy_.admit(worker_->now()))
//       SKJOLD_LOG(warning, "frontend {}: refused PROXY header from {} ({} more since the last line)",
//                  fe.name, peer, a.suppressed);

#include <array>
#include <cstddef>
#include <cstdint>

namespace skjold::core {

// What admit() decided for one occurrence.
struct LogAdmission {
    bool log = false;                // write this line
    std::uint64_t suppressed = 0;    // when log: occurrences dropped since the previous line
    explicit operator bool() const noexcept { return log; }
};

// One key.
class LogRateLimit {
public:
    constexpr explicit LogRateLimit(std::uint64_t interval_ms = 1000, std::uint32_t burst = 1) noexcept
        : interval_ms_(interval_ms), burst_(burst == 0 ? 1 : burst) {}

    // One occurrence at now_ms (monotonic; a clock that stepped back counts as no time passed).
    LogAdmission admit(std::uint64_t now_ms) noexcept {
        if (!started_ || now_ms >= window_start_ + interval_ms_) {
            started_ = true;
            window_start_ = now_ms;
            used_ = 0;
        }
        if (used_ >= burst_) {
            ++pending_;
            ++total_suppressed_;
            return {};
        }
        ++used_;
        LogAdmission a{true, pending_};
        pending_ = 0;
        return a;
    }

    std::uint64_t pending() const noexcept { return pending_; }                     // dropped, not yet reported
    std::uint64_t total_suppressed() const noexcept { return total_suppressed_; }   // since construction

private:
    std::uint64_t interval_ms_;
    std::uint32_t burst_;
    std::uint32_t used_ = 0;            // lines let through in the current window
    bool started_ = false;
    std::uint64_t window_start_ = 0;
    std::uint64_t pending_ = 0;
    std::uint64_t total_suppressed_ = 0;
};

// Many keys (a frontend index, an error kind, a server id) in a fixed table of `Slots` limits:
// key % Slots picks the slot, so keys that collide share one budget (and one suppressed count).
// Pick Slots at least the number of keys in use to keep them apart.
template <std::size_t Slots>
class KeyedLogRateLimit {
    static_assert(Slots > 0);

public:
    constexpr explicit KeyedLogRateLimit(std::uint64_t interval_ms = 1000, std::uint32_t burst = 1) noexcept {
        for (auto& s : slots_) s = LogRateLimit(interval_ms, burst);
    }

    LogAdmission admit(std::uint64_t key, std::uint64_t now_ms) noexcept { return slots_[key % Slots].admit(now_ms); }

    std::uint64_t total_suppressed() const noexcept {
        std::uint64_t n = 0;
        for (const auto& s : slots_) n += s.total_suppressed();
        return n;
    }

private:
    std::array<LogRateLimit, Slots> slots_;
};

}  // namespace skjold::core
