#pragma once
// The log lines HAProxy writes for health checks, word for word, built into a fixed buffer
// (no allocation). Verified against haproxy 2.6.12 on 127.0.0.1 and its sources:
//   src/server.c  srv_update_status() / srv_append_status()   "Server b/s is DOWN|UP ..."
//   src/check.c   set_server_check_status(), check_append_info() "Health check for server ..."
//   src/backend.c set_backend_down()                           "backend b has no server available!"
//   src/chunk.c   chunk_asciiencode()                          the quoting of `info: "..."`
// Syslog levels as HAProxy's send_log(): DOWN alert, UP notice, health check notice,
// no server available emerg.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/log.hh"
#include "health/check_status.hh"

namespace skjold::health {

// One check's outcome, as the log lines print it.
struct CheckReport {
    CheckStatus status = CheckStatus::unknown;
    int code = 0;
    std::int64_t duration_ms = -1;
    std::string_view desc;
};

// Who the line is about.
struct ServerRef {
    std::string_view proxy, server;
    bool backup = false;
};

// Usable servers of the backend after the change (BackendState::usable_active/_backup).
struct BackendCounts {
    int active = 0, backup = 0;
};

class CheckLogLine {
public:
    static constexpr std::size_t kCapacity = 1024;
    std::string_view view() const noexcept { return {buf_, len_}; }

    // `Server b/s is DOWN, reason: ..., check duration: 3ms. 0 active and 1 backup servers left.
    // Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.`
    // `check` is null under `option log-health-checks` (the reason was logged already).
    std::string_view server_down(const ServerRef& s, const CheckReport* check, BackendCounts n,
                                 std::uint64_t sessions) noexcept;
    // `Server b/s is UP, reason: ..., check duration: 1ms. 1 active and 0 backup servers online.
    // 0 sessions requeued, 0 total in queue.`
    std::string_view server_up(const ServerRef& s, const CheckReport* check, BackendCounts n) noexcept;
    // The same two lines for a change made from the stats socket: `reason` replaces the check
    // ("Server b/s is DOWN, changed from CLI. 0 active and ...").
    std::string_view server_down(const ServerRef& s, std::string_view reason, BackendCounts n,
                                 std::uint64_t sessions) noexcept;
    std::string_view server_up(const ServerRef& s, std::string_view reason, BackendCounts n) noexcept;
    // `Server b/s is stopping, changed from CLI. 1 active and 0 backup servers online. 0 sessions
    // requeued, 0 total in queue.`
    std::string_view server_stopping(const ServerRef& s, std::string_view reason, BackendCounts n) noexcept;

    // Admin state changes (src/server.c srv_update_status(), verified against haproxy 2.6):
    // `Server b/s is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions
    // active, 0 requeued, 0 remaining in queue.` or, already DOWN,
    // `Server b/s was DOWN and now enters maintenance.`
    std::string_view maint_enter(const ServerRef& s, bool was_down, BackendCounts n, std::uint64_t sessions) noexcept;
    // `Server b/s is UP/READY (leaving forced maintenance).` (UP/DRAIN when it goes to drain)
    std::string_view maint_leave(const ServerRef& s, bool to_drain) noexcept;
    // `Server b/s enters drain state. 1 active and 0 backup servers online. 0 sessions requeued,
    // 0 total in queue.`
    std::string_view drain_enter(const ServerRef& s, BackendCounts n) noexcept;
    // `Server b/s remains in forced drain mode.` (after leaving maintenance for drain)
    std::string_view drain_remains(const ServerRef& s) noexcept;
    // `Server b/s is UP (leaving forced drain).`
    std::string_view drain_leave(const ServerRef& s) noexcept;

    // `Health check for server b/s failed, reason: ..., check duration: 0ms, status: 2/3 UP.`
    std::string_view health_check(const ServerRef& s, const CheckReport& check, int health, int rise, int fall,
                                  bool drain) noexcept;
    // `backend b has no server available!` (`proxy b ...` for a listen section)
    std::string_view no_server(std::string_view proxy, bool is_listen) noexcept;

private:
    void reset() noexcept { len_ = 0; }
    void put(std::string_view s) noexcept;
    template <class... Args>
    void putf(fmt::format_string<Args...> f, Args&&... args) noexcept;
    void put_ascii_encoded(std::string_view s, char quote) noexcept;
    void put_reason(const CheckReport& c) noexcept;
    void put_server(const ServerRef& s, std::string_view what) noexcept;
    void put_left(BackendCounts n, std::uint64_t sessions) noexcept;
    void put_online(BackendCounts n) noexcept;

    char buf_[kCapacity];
    std::size_t len_ = 0;
};

}  // namespace skjold::health
