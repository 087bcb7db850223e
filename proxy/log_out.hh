#pragma once
// A bounded appender for log lines: writes into the caller's buffer and silently stops at its
// end (a long line is cut, as HAProxy cuts at the target's `len`). Used by the access-log
// formatter (access_log.cc) and the log sender's framing (log_sink.cc). No allocation.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace skjold::proxy {

inline constexpr const char* kLogMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct LogOut {
    char* p;
    std::size_t cap;
    std::size_t n = 0;

    void ch(char c) noexcept {
        if (n < cap) p[n++] = c;
    }
    void str(std::string_view s) noexcept {
        std::size_t k = s.size() < cap - n ? s.size() : cap - n;
        std::memcpy(p + n, s.data(), k);
        n += k;
    }
    void num(std::int64_t v) noexcept {
        char b[24];
        auto r = std::to_chars(b, b + sizeof b, v);
        str(std::string_view(b, static_cast<std::size_t>(r.ptr - b)));
    }
    void unum(std::uint64_t v) noexcept {
        char b[24];
        auto r = std::to_chars(b, b + sizeof b, v);
        str(std::string_view(b, static_cast<std::size_t>(r.ptr - b)));
    }
    void plus_if(bool b) noexcept {
        if (b) ch('+');
    }
    // v >= 0, left-padded with `fill` to `width` characters.
    void pad(std::int64_t v, int width, char fill) noexcept {
        char b[24];
        auto r = std::to_chars(b, b + sizeof b, v);
        for (int i = static_cast<int>(r.ptr - b); i < width; ++i) ch(fill);
        str(std::string_view(b, static_cast<std::size_t>(r.ptr - b)));
    }
};

}  // namespace skjold::proxy
