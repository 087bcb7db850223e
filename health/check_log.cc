#include "health/check_log.hh"

#include <cstring>

namespace skjold::health {

void CheckLogLine::put(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), kCapacity - len_);
    std::memcpy(buf_ + len_, s.data(), n);
    len_ += n;
}

template <class... Args>
void CheckLogLine::putf(fmt::format_string<Args...> f, Args&&... args) noexcept {
    try {
        auto r = fmt::format_to_n(buf_ + len_, kCapacity - len_, f, std::forward<Args>(args)...);
        len_ += std::min(r.size, kCapacity - len_);
    } catch (...) {
        // fmt only throws on a bad format string, which compile-time checking rules out.
    }
}

// chunk_asciiencode(): non-printable bytes, '<', '>' and the quote become "<XX>".
void CheckLogLine::put_ascii_encoded(std::string_view s, char quote) noexcept {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c > 0x7e || ch == '<' || ch == '>' || ch == quote) {
            const char enc[4] = {'<', kHex[c >> 4], kHex[c & 0xF], '>'};
            put({enc, 4});
        } else {
            put({&ch, 1});
        }
    }
}

// check_append_info() / srv_append_status() with a check.
void CheckLogLine::put_reason(const CheckReport& c) noexcept {
    put(", reason: ");
    put(check_status_description(c.status));
    if (check_status_has_code(c.status)) putf(", code: {}", c.code);
    if (!c.desc.empty()) {
        put(", info: \"");
        put_ascii_encoded(c.desc, '"');
        put("\"");
    }
    if (c.duration_ms >= 0) putf(", check duration: {}ms", c.duration_ms);
}

void CheckLogLine::put_server(const ServerRef& s, std::string_view what) noexcept {
    putf("{}Server {}/{} {}", s.backup ? "Backup " : "", s.proxy, s.server, what);
}

void CheckLogLine::put_left(BackendCounts n, std::uint64_t sessions) noexcept {
    putf(". {} active and {} backup servers left.{} {} sessions active, 0 requeued, 0 remaining in queue.",
         n.active, n.backup, (n.backup > 0 && n.active == 0) ? " Running on backup." : "", sessions);
}

void CheckLogLine::put_online(BackendCounts n) noexcept {
    putf(". {} active and {} backup servers online.{} 0 sessions requeued, 0 total in queue.", n.active, n.backup,
         (n.backup > 0 && n.active == 0) ? " Running on backup." : "");
}

std::string_view CheckLogLine::server_down(const ServerRef& s, const CheckReport* check, BackendCounts n,
                                           std::uint64_t sessions) noexcept {
    reset();
    put_server(s, "is DOWN");
    if (check) put_reason(*check);
    put_left(n, sessions);
    return view();
}

std::string_view CheckLogLine::server_up(const ServerRef& s, const CheckReport* check, BackendCounts n) noexcept {
    reset();
    put_server(s, "is UP");
    if (check) put_reason(*check);
    put_online(n);
    return view();
}

std::string_view CheckLogLine::server_down(const ServerRef& s, std::string_view reason, BackendCounts n,
                                           std::uint64_t sessions) noexcept {
    reset();
    put_server(s, "is DOWN, ");
    put(reason);
    put_left(n, sessions);
    return view();
}

std::string_view CheckLogLine::server_up(const ServerRef& s, std::string_view reason, BackendCounts n) noexcept {
    reset();
    put_server(s, "is UP, ");
    put(reason);
    put_online(n);
    return view();
}

std::string_view CheckLogLine::server_stopping(const ServerRef& s, std::string_view reason, BackendCounts n) noexcept {
    reset();
    put_server(s, "is stopping, ");
    put(reason);
    put_online(n);
    return view();
}

std::string_view CheckLogLine::maint_enter(const ServerRef& s, bool was_down, BackendCounts n,
                                           std::uint64_t sessions) noexcept {
    reset();
    if (was_down) {
        put_server(s, "was DOWN and now enters maintenance.");
        return view();
    }
    put_server(s, "is going DOWN for maintenance");
    put_left(n, sessions);
    return view();
}

std::string_view CheckLogLine::maint_leave(const ServerRef& s, bool to_drain) noexcept {
    reset();
    put_server(s, to_drain ? "is UP/DRAIN (leaving forced maintenance)." : "is UP/READY (leaving forced maintenance).");
    return view();
}

std::string_view CheckLogLine::drain_enter(const ServerRef& s, BackendCounts n) noexcept {
    reset();
    put_server(s, "enters drain state");
    put_online(n);
    return view();
}

std::string_view CheckLogLine::drain_remains(const ServerRef& s) noexcept {
    reset();
    put_server(s, "remains in forced drain mode.");
    return view();
}

std::string_view CheckLogLine::drain_leave(const ServerRef& s) noexcept {
    reset();
    put_server(s, "is UP (leaving forced drain).");
    return view();
}

std::string_view CheckLogLine::health_check(const ServerRef& s, const CheckReport& check, int health, int rise,
                                            int fall, bool drain) noexcept {
    reset();
    putf("Health check for {}server {}/{} {}", s.backup ? "backup " : "", s.proxy, s.server,
         check_status_passed(check.status) ? "succeeded" : "failed");
    put_reason(check);
    const bool up = health >= rise;
    putf(", status: {}/{} {}.", up ? health - rise + 1 : health, up ? fall : rise,
         up ? (drain ? "DRAIN" : "UP") : "DOWN");
    return view();
}

std::string_view CheckLogLine::no_server(std::string_view proxy, bool is_listen) noexcept {
    reset();
    putf("{} {} has no server available!", is_listen ? "proxy" : "backend", proxy);
    return view();
}

}  // namespace skjold::health
