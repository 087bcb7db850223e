#include "core/assert.hh"
#include "core/log.hh"
#include "core/result.hh"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace skjold::core {

std::atomic<int> g_log_level{static_cast<int>(Level::info)};

void set_log_level(Level l) noexcept { g_log_level.store(static_cast<int>(l), std::memory_order_relaxed); }

void log_write(Level l, std::string_view msg) noexcept {
    static constexpr const char* kNames[] = {"EMERG", "ALERT", "CRIT", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};
    char head[64];
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    localtime_r(&ts.tv_sec, &t);
    int n = std::snprintf(head, sizeof head, "[%s] %02d:%02d:%02d.%03ld ", kNames[static_cast<int>(l)], t.tm_hour,
                          t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
    char buf[4096];
    std::size_t hl = n > 0 ? static_cast<std::size_t>(n) : 0;
    std::size_t ml = std::min(msg.size(), sizeof buf - hl - 1);
    std::memcpy(buf, head, hl);
    std::memcpy(buf + hl, msg.data(), ml);
    buf[hl + ml] = '\n';
    ssize_t w = ::write(STDERR_FILENO, buf, hl + ml + 1);
    (void)w;
}

void check_failed(const char* expr, const char* file, int line, const char* msg) noexcept {
    std::fprintf(stderr, "skjold: fatal: %s:%d: check '%s' failed: %s\n", file, line, expr, msg);
    std::abort();
}

const char* errc_name(Errc c) noexcept {
    switch (c) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::io: return "i/o error";
    case Errc::timeout: return "timeout";
    case Errc::refused: return "connection refused";
    case Errc::reset: return "connection reset";
    case Errc::closed: return "closed";
    case Errc::no_memory: return "out of memory";
    case Errc::no_buffers: return "no buffers";
    case Errc::limit: return "limit reached";
    case Errc::unsupported: return "not supported";
    case Errc::internal: return "internal error";
    }
    return "?";
}

std::string describe(const Error& e) {
    std::string s = e.detail.empty() ? std::string(errc_name(e.code)) : e.detail;
    if (e.sys_errno != 0) {
        s += ": ";
        s += std::strerror(e.sys_errno);
    }
    return s;
}

}  // namespace skjold::core
