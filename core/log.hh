#pragma once
// Process logging for skjold's own messages (not access logs). fmt-formatted, level
// tested before formatting. Thread-safe: each message is one write(2) to stderr.

#include <atomic>
#include <fmt/format.h>
#include <string_view>

namespace skjold::core {

enum class Level : int { emerg = 0, alert, crit, err, warning, notice, info, debug };

extern std::atomic<int> g_log_level;   // messages above it are dropped before formatting

inline bool log_enabled(Level l) noexcept { return static_cast<int>(l) <= g_log_level.load(std::memory_order_relaxed); }
void log_write(Level l, std::string_view msg) noexcept;
void set_log_level(Level l) noexcept;

template <class... Args>
void log(Level l, fmt::format_string<Args...> f, Args&&... args) noexcept {
    if (!log_enabled(l)) return;
    try {
        log_write(l, fmt::format(f, std::forward<Args>(args)...));
    } catch (...) {
        log_write(l, "(log formatting failed)");
    }
}

#define SKJOLD_LOG(level, ...) ::skjold::core::log(::skjold::core::Level::level, __VA_ARGS__)

}  // namespace skjold::core
