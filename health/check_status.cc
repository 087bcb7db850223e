#include "health/check_status.hh"

#include <algorithm>

namespace skjold::health {

namespace {

struct StatusText {
    const char* name;
    const char* description;
};

// HAProxy's check_statuses[] (src/check.c): short info and long description.
constexpr StatusText kText[] = {
    {"UNK", "Unknown"},
    {"INI", "Initializing"},
    {"HANA", "Health analyze"},
    {"SOCKERR", "Socket error"},
    {"L4OK", "Layer4 check passed"},
    {"L4TOUT", "Layer4 timeout"},
    {"L4CON", "Layer4 connection problem"},
    {"L6OK", "Layer6 check passed"},
    {"L6TOUT", "Layer6 timeout"},
    {"L6RSP", "Layer6 invalid response"},
    {"L7TOUT", "Layer7 timeout"},
    {"L7RSP", "Layer7 invalid response"},
    {"L7OK", "Layer7 check passed"},
    {"L7STS", "Layer7 wrong status"},
};

const StatusText& text(CheckStatus s) noexcept {
    const auto i = static_cast<std::size_t>(s);
    return i < std::size(kText) ? kText[i] : kText[0];
}

}  // namespace

const char* check_status_name(CheckStatus s) noexcept { return text(s).name; }
const char* check_status_description(CheckStatus s) noexcept { return text(s).description; }
bool check_status_passed(CheckStatus s) noexcept {
    return s == CheckStatus::l4ok || s == CheckStatus::l6ok || s == CheckStatus::l7ok;
}

int haproxy_check_status_code(CheckStatus s) noexcept {
    switch (s) {
    case CheckStatus::unknown: return 0;
    case CheckStatus::ini: return 1;
    case CheckStatus::hana: return 4;
    case CheckStatus::sockerr: return 5;
    case CheckStatus::l4ok: return 6;
    case CheckStatus::l4tout: return 7;
    case CheckStatus::l4con: return 8;
    case CheckStatus::l6ok: return 9;
    case CheckStatus::l6tout: return 10;
    case CheckStatus::l6rsp: return 11;
    case CheckStatus::l7tout: return 12;
    case CheckStatus::l7rsp: return 13;
    case CheckStatus::l7ok: return 15;
    case CheckStatus::l7sts: return 17;
    }
    return 0;
}

int haproxy_check_result(CheckStatus s) noexcept {
    if (s == CheckStatus::unknown || s == CheckStatus::ini) return 0;
    return check_status_passed(s) ? 3 : 2;
}

void CheckStats::record(CheckStatus s, int code, std::int64_t duration_ms, std::string_view desc) noexcept {
    status_.store(static_cast<std::uint8_t>(s), std::memory_order_relaxed);
    code_.store(code, std::memory_order_relaxed);
    duration_.store(duration_ms, std::memory_order_relaxed);
    checks_.add();
    store_desc(desc);
}

void CheckStats::record_verdict(CheckStatus s, std::string_view desc) noexcept {
    status_.store(static_cast<std::uint8_t>(s), std::memory_order_relaxed);
    code_.store(0, std::memory_order_relaxed);
    duration_.store(-1, std::memory_order_relaxed);
    store_desc(desc);
}

void CheckStats::store_desc(std::string_view desc) noexcept {
    // Seqlock write: odd sequence, bytes, even sequence. Single writer, so plain load+store.
    // The byte stores are release so none moves above the odd store; the readers' loads are
    // acquire so their second sequence load cannot move above them (no fences needed).
    const std::uint32_t seq = desc_seq_.load(std::memory_order_relaxed);
    desc_seq_.store(seq + 1, std::memory_order_relaxed);
    const std::size_t n = std::min(desc.size(), kCheckDescMax);
    for (std::size_t i = 0; i < n; ++i) desc_[i].store(desc[i], std::memory_order_release);
    desc_len_.store(static_cast<std::uint32_t>(n), std::memory_order_release);
    desc_seq_.store(seq + 2, std::memory_order_release);
}

std::size_t CheckStats::description(char (&out)[kCheckDescMax + 1]) const noexcept {
    for (;;) {
        const std::uint32_t before = desc_seq_.load(std::memory_order_acquire);
        if (before & 1u) continue;
        const std::size_t n = std::min<std::size_t>(desc_len_.load(std::memory_order_acquire), kCheckDescMax);
        for (std::size_t i = 0; i < n; ++i) out[i] = desc_[i].load(std::memory_order_acquire);
        out[n] = '\0';
        if (desc_seq_.load(std::memory_order_relaxed) == before) return n;
    }
}

}  // namespace skjold::health
