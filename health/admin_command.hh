#pragma once
// The stats socket's commands that change a server (management.txt: `set server`, `set weight`,
// `enable|disable server`, `enable|disable health`), as data. Data-only header: the stats socket
// (proxy/) builds an AdminCommand, then hands it to health::Checker::admin(), which applies it on
// the checker thread (the only writer of server state) and returns HAProxy's error text, if any.
//
// Admin state (READY/DRAIN/MAINT) is separate from health (UP/STOPPING/DOWN), as in HAProxy:
//   state ready|drain|maint   HAProxy's srv_adm_set_ready/drain/maint (forced flags FMAINT, FDRAIN)
//   health up|stopping|down   HAProxy's `set server B/S health`: up = counter rise+fall-1 and
//                             running (slowstart applies), stopping = NOLB, down = counter 0 and
//                             stopped. Checks keep running: the next check results move it again.
//   weight N | N%             N in 0..256, or N% of the configured weight (HAProxy: iweight*N/100,
//                             capped at 256). A backend balancing with a static algorithm
//                             (static-rr, source) accepts only 0 and the configured weight.
//   enable|disable server     = state ready | state maint
//   enable|disable health     start | stop the active checks; the server keeps its state

#include <cstdint>
#include <string_view>

#include "core/result.hh"
#include "health/server_state.hh"

namespace skjold::health {

struct AdminCommand {
    enum class Op : std::uint8_t {
        set_state,        // `set server B/S state ready|drain|maint`: uses `admin`
        set_health,       // `set server B/S health up|stopping|down`: uses `health`
        set_weight,       // `set server B/S weight W`, `set weight B/S W`: uses `weight`, `percent`
        enable_server,    // `enable server B/S`  (= set_state ready)
        disable_server,   // `disable server B/S` (= set_state maint)
        enable_health,    // `enable health B/S`
        disable_health,   // `disable health B/S`
    };
    Op op = Op::set_state;
    int proxy = -1;                // index into conf::Snapshot::proxies (a backend or listen)
    int server = -1;               // index into conf::Proxy::servers
    Admin admin = Admin::ready;    // set_state
    Health health = Health::up;    // set_health: up, stopping or down (starting is refused)
    int weight = 0;                // set_weight: absolute, or percent of the configured weight
    bool percent = false;          // set_weight: `weight` ends in '%'
};

// Where a `backend/server` argument points.
struct ServerIndex {
    int proxy = -1;
    int server = -1;
};

// Resolves "BACKEND/SERVER" by name, or "#ID" for either part (backend: its 1-based position in
// the configuration, as HAProxy numbers proxies without `id`; server: its 1-based position in the
// backend). Errors carry HAProxy's CLI text in Error::detail:
//   "Require 'backend/server'."  "No such backend."  "No such server."
core::Result<ServerIndex> find_server(const conf::Snapshot& snap, std::string_view backend_slash_server);

// Parses a weight argument as HAProxy's server_parse_weight_change_request() does ("10", "50%").
// Errors (Error::detail, HAProxy's text): "Require <weight> or <weight%>.",
// "Empty weight string empty or preceded by garbage", "Relative weight must be positive.",
// "Absolute weight can only be between 0 and 256 inclusive.", "Trailing garbage in weight string".
struct WeightArg {
    int value = 0;
    bool percent = false;
};
core::Result<WeightArg> parse_weight(std::string_view text);

// The weight a `set weight` would set (HAProxy's uweight): `w` itself, or configured*w/100 capped
// at kMaxWeight. Pure, for the stats socket's `get weight` and for tests.
int resolve_weight(int configured_weight, WeightArg w) noexcept;

}  // namespace skjold::health
