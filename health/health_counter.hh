#pragma once
// HAProxy's health counter and check interval, as pure functions (no state, no clock), so the
// rules can be tested on their own and the Checker only applies them.
//
// The counter runs 0..rise+fall-1. A server is UP while counter >= rise (it starts at rise, so
// one failure takes it DOWN), and DOWN while counter < rise.
// Source: HAProxy src/check.c set_server_check_status(), check_notify_failure(),
// check_notify_success(); src/server.c srv_getinter().

#include "conf/snapshot_types.hh"

namespace skjold::health {

struct HealthStep {
    int health = 0;
    bool changed = false;   // HAProxy's `report`: the counter moved
};

// A failure decrements (a counter already at 0 stays there) and drops to 0 as soon as it is
// below rise; a success increments and, on reaching rise, jumps to fully UP (rise+fall-1).
inline HealthStep next_health(int health, int rise, int fall, bool passed) noexcept {
    const int top = rise + fall - 1;
    if (!passed) {
        if (health <= 0) return {0, false};
        int h = health - 1;
        if (h < rise) h = 0;
        return {h, true};
    }
    if (health >= top) return {top, false};
    int h = health + 1;
    if (h >= rise) h = top;
    return {h, true};
}

// The server goes DOWN when a failure leaves the counter at 0, and UP when a success brings it
// to rise or above (check_notify_failure / check_notify_success).
inline bool becomes_down(int health_after, bool passed) noexcept { return !passed && health_after == 0; }
inline bool becomes_up(int health_after, int rise, bool passed) noexcept { return passed && health_after >= rise; }

// srv_getinter(): `inter` when fully UP; `downinter` (else inter) when DOWN with counter 0;
// `fastinter` (else inter) in every other case: going down, going up, and not yet checked
// (a server starts at rise < rise+fall-1 unless fall is 1).
// `force_fast`: passive observation asked for fastinter (HAProxy's CHK_ST_FASTINTER), which
// overrides inter for a fully UP server.
inline conf::Millis check_interval(const conf::ServerOptions& o, int health, bool down, bool force_fast = false) noexcept {
    if (health == o.rise + o.fall - 1 && !force_fast) return o.inter;
    if (down && health == 0) return o.downinter > 0 ? o.downinter : o.inter;
    return o.fastinter > 0 ? o.fastinter : o.inter;
}

}  // namespace skjold::health
