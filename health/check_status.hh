#pragma once
// The result vocabulary of one health check, HAProxy's (src/check.c, check_statuses[]), and the
// per-server record of the last result that the stats socket reads.
//
// Owner of CheckStats: the Checker thread is its only writer; any thread may read it (every
// field is an atomic read relaxed; the description is guarded by a sequence number).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/counter.hh"

namespace skjold::health {

// Order matters: as in HAProxy, statuses from l7ok on carry an HTTP code in the log line
// ("code: 503"); l7tout and l7rsp do not (they sit below HAProxy's HCHK_STATUS_L57DATA).
enum class CheckStatus : std::uint8_t {
    unknown,   // UNK
    ini,       // INI: not checked yet
    hana,      // HANA: passive observation (`observe`) reached error-limit ("Health analyze")
    sockerr,   // SOCKERR: socket error (no socket, I/O error after connect)
    l4ok,      // L4OK: connected (plain TCP check)
    l4tout,    // L4TOUT: connect timed out
    l4con,     // L4CON: connect failed (refused, unreachable...)
    l6ok,      // L6OK: TLS handshake done (check-ssl without an HTTP check)
    l6tout,    // L6TOUT: no complete TLS handshake in time
    l6rsp,     // L6RSP: the TLS handshake failed (certificate, protocol)
    l7tout,    // L7TOUT: connected, no complete answer in time
    l7rsp,     // L7RSP: invalid answer, or body expectation not met
    l7ok,      // L7OK: HTTP check passed
    l7sts,     // L7STS: HTTP status not the expected one
};

const char* check_status_name(CheckStatus s) noexcept;          // "L7STS"
const char* check_status_description(CheckStatus s) noexcept;   // "Layer7 wrong status"
bool check_status_passed(CheckStatus s) noexcept;               // l4ok, l6ok, l7ok
// HAProxy's numbers for `show servers state`: srv_check_status (enum healthcheck_status: INI 1,
// HANA 4, SOCKERR 5, L4OK 6, L4TOUT 7, L4CON 8, L6OK 9, L6TOUT 10, L6RSP 11, L7TOUT 12, L7RSP 13, L7OK 15, L7STS 17) and
// srv_check_result (CHK_RES_UNKNOWN 0, FAILED 2, PASSED 3).
int haproxy_check_status_code(CheckStatus s) noexcept;
int haproxy_check_result(CheckStatus s) noexcept;

// HAProxy prints ", code: N" for these (status >= HCHK_STATUS_L57DATA).
inline bool check_status_has_code(CheckStatus s) noexcept { return s >= CheckStatus::l7ok; }

// HAProxy keeps at most HCHK_DESC_LEN - 1 = 127 bytes of a check's description.
inline constexpr std::size_t kCheckDescMax = 127;

// The last check of one server, as `show stat` reports it (check_status, check_code,
// check_duration, last_chk, chkfail, chkdown).
class CheckStats {
public:
    CheckStatus status() const noexcept { return static_cast<CheckStatus>(status_.load(std::memory_order_relaxed)); }
    int code() const noexcept { return code_.load(std::memory_order_relaxed); }          // HTTP code, 0 if none
    std::int64_t duration_ms() const noexcept { return duration_.load(std::memory_order_relaxed); }  // -1: none
    std::uint64_t checks() const noexcept { return checks_.read(); }           // checks completed
    std::uint64_t failed_checks() const noexcept { return failed_.read(); }    // HAProxy chkfail
    std::uint64_t down_transitions() const noexcept { return down_.read(); }   // HAProxy chkdown
    std::uint64_t observe_failures() const noexcept { return hana_.read(); }   // HAProxy hanafail
    // Copies the description ("Connection refused", "Service Unavailable") into out (NUL
    // terminated, at most kCheckDescMax bytes) and returns its length. Retries while the writer
    // is mid-update, so it never returns a torn string.
    std::size_t description(char (&out)[kCheckDescMax + 1]) const noexcept;

    // --- checker thread only ----------------------------------------------------------------
    void record(CheckStatus s, int code, std::int64_t duration_ms, std::string_view desc) noexcept;
    void count_failure() noexcept { failed_.add(); }
    void count_down() noexcept { down_.add(); }
    void count_observe_failure() noexcept { hana_.add(); }
    // A verdict that is not a check (HANA): status and description, no code, duration -1,
    // not counted in checks().
    void record_verdict(CheckStatus s, std::string_view desc) noexcept;

private:
    void store_desc(std::string_view desc) noexcept;

    std::atomic<std::uint8_t> status_{static_cast<std::uint8_t>(CheckStatus::ini)};
    std::atomic<std::int32_t> code_{0};
    std::atomic<std::int64_t> duration_{-1};
    core::Counter checks_, failed_, down_, hana_;
    std::atomic<std::uint32_t> desc_seq_{0};   // odd while the writer updates desc_
    std::atomic<std::uint32_t> desc_len_{0};
    std::atomic<char> desc_[kCheckDescMax]{};
};

}  // namespace skjold::health
