#include "conf/values.hh"

#include <cstring>

namespace skjold::conf {

namespace {

// Reads leading decimal digits into v; false on overflow past `limit`. `len` gets the count.
bool read_digits(std::string_view s, std::uint64_t limit, std::uint64_t& v, std::size_t& len) {
    v = 0;
    len = 0;
    while (len < s.size() && s[len] >= '0' && s[len] <= '9') {
        std::uint64_t d = static_cast<std::uint64_t>(s[len] - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
        ++len;
    }
    return true;
}

std::string unexpected_char(std::string_view s, std::size_t at) {
    return "unexpected character '" + std::string(1, s[at]) + "' in '" + std::string(s) + "'";
}

}  // namespace

core::Result<Millis, std::string> parse_time(std::string_view s, Millis bare_unit_ms) {
    if (s.empty()) return core::Unexpected{std::string("expects a time (e.g. 500ms, 2s, 5m)")};
    std::uint64_t v = 0;
    std::size_t len = 0;
    if (!read_digits(s, UINT64_MAX / 1000, v, len))
        return core::Unexpected{"timer overflow in '" + std::string(s) + "' (maximum value is 2147483647 ms or ~24.8 days)"};
    if (len == 0) return core::Unexpected{unexpected_char(s, 0)};
    std::string_view unit = s.substr(len);
    std::uint64_t ms = 0;
    auto mul = [&](std::uint64_t f) -> bool {
        if (v > static_cast<std::uint64_t>(kMaxTimeMs) / f + 1) return false;
        ms = v * f;
        return true;
    };
    bool ok = true;
    if (unit.empty()) ok = mul(static_cast<std::uint64_t>(bare_unit_ms));
    else if (unit == "us") ms = (v + 999) / 1000;
    else if (unit == "ms") ms = v;
    else if (unit == "s") ok = mul(1000);
    else if (unit == "m") ok = mul(60000);
    else if (unit == "h") ok = mul(3600000);
    else if (unit == "d") ok = mul(86400000);
    else {
        // Name the first character that cannot start or continue a unit, as HAProxy does.
        std::size_t bad = len;
        if (unit.size() >= 2 && (unit.substr(0, 2) == "us" || unit.substr(0, 2) == "ms")) bad = len + 2;
        else if (unit[0] == 's' || unit[0] == 'm' || unit[0] == 'h' || unit[0] == 'd') bad = len + 1;
        if (bad >= s.size()) bad = len;
        return core::Unexpected{unexpected_char(s, bad)};
    }
    if (!ok || ms > static_cast<std::uint64_t>(kMaxTimeMs))
        return core::Unexpected{"timer overflow in '" + std::string(s) + "' (maximum value is 2147483647 ms or ~24.8 days)"};
    return static_cast<Millis>(ms);
}

core::Result<std::uint64_t, std::string> parse_size(std::string_view s, std::uint64_t max) {
    if (s.empty()) return core::Unexpected{std::string("expects a size (e.g. 16384, 16k, 1m)")};
    std::uint64_t v = 0;
    std::size_t len = 0;
    auto too_big = [&] { return core::Unexpected{"size '" + std::string(s) + "' is larger than " + std::to_string(max)}; };
    if (!read_digits(s, UINT64_MAX, v, len)) return too_big();
    if (len == 0) return core::Unexpected{unexpected_char(s, 0)};
    std::string_view unit = s.substr(len);
    std::uint64_t f = 1;
    if (unit.empty()) f = 1;
    else if (unit == "k" || unit == "K") f = 1024;
    else if (unit == "m" || unit == "M") f = 1024 * 1024;
    else if (unit == "g" || unit == "G") f = 1024ull * 1024 * 1024;
    else return core::Unexpected{unexpected_char(s, std::strchr("kKmMgG", unit[0]) != nullptr ? len + 1 : len)};
    if (v > max / f) return too_big();
    return v * f;
}

core::Result<std::int64_t, std::string> parse_int(std::string_view s, std::int64_t lo, std::int64_t hi) {
    std::string_view t = s;
    bool neg = false;
    if (!t.empty() && t[0] == '-' && lo < 0) { neg = true; t.remove_prefix(1); }
    auto range = [&] {
        return core::Unexpected{"'" + std::string(s) + "' is not an integer between " + std::to_string(lo) + " and " +
                                std::to_string(hi)};
    };
    if (t.empty()) return range();
    std::uint64_t v = 0;
    std::size_t len = 0;
    if (!read_digits(t, static_cast<std::uint64_t>(INT64_MAX), v, len) || len != t.size()) return range();
    std::int64_t r = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
    if (r < lo || r > hi) return range();
    return r;
}

bool is_valid_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

bool is_valid_header_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
        if (!ok || c == '\0') return false;
    }
    return true;
}

}  // namespace skjold::conf
