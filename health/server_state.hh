#pragma once
// Runtime state of every backend server: health (UP/DOWN and the rise/fall counter), admin state
// (READY/MAINT/DRAIN) and weight, as HAProxy keeps them (CONFIG.md, "Semantics").
//
// Owner and only writer: the control thread (health checks, stats socket, reload). Readers: the
// workers, lock-free. Every field is an atomic; the writer stores fields with relaxed order and
// then moves the backend's generation with release order, so a worker that loads a new
// generation (acquire) and then reads the fields sees at least that change. A worker rebuilds its
// usable-server view only when the generation moved (proxy/balancer.hh), never on each pick.
//
// One ServerStateTable belongs to one Snapshot (same backends, same servers, same order). On
// reload the new table adopts the old one's state by backend/server name (carry_over) before the
// workers see it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/snapshot_types.hh"

namespace skjold::health {

// Operational state, HAProxy's srv_state. `starting` is UP with a ramping weight (slowstart);
// it counts as UP everywhere. `stopping` (HAProxy NOLB, `set server B/S health stopping`) is UP
// for srv_is_up() but takes no new load-balanced traffic.
enum class Health : std::uint8_t { down, starting, up, stopping };
// Admin state, separate from health. MAINT: out of everything (config `disabled`, stats socket).
// DRAIN: keeps its connections but gets no new load-balanced traffic.
enum class Admin : std::uint8_t { ready, maint, drain };

inline constexpr int kMaxWeight = 256;   // HAProxy's bound for `weight` and `set weight`

// HAProxy's numeric encodings, for `show servers state` (src/server.c, include/haproxy/*-t.h).
// srv_op_state: SRV_ST_STOPPED 0, STARTING 1, RUNNING 2, STOPPING 3.
int haproxy_op_state(Health h) noexcept;
// srv_admin_state bits.
inline constexpr unsigned kAdmfFmaint = 0x01;   // forced maintenance (stats socket, `disabled`)
inline constexpr unsigned kAdmfCmaint = 0x04;   // maintenance because of `disabled` in the config
inline constexpr unsigned kAdmfFdrain = 0x08;   // forced drain
// srv_check_state bits (struct check state).
inline constexpr unsigned kChkStConfigured = 0x02;   // `check` on the server line
inline constexpr unsigned kChkStEnabled = 0x04;      // not stopped by `disable health`
inline constexpr unsigned kChkStPaused = 0x08;       // in maintenance: checks paused

class BackendState;

// One server. Identity fields are immutable; state fields are written by BackendState only.
class ServerState {
public:
    ServerState() = default;
    ServerState(const ServerState&) = delete;
    ServerState& operator=(const ServerState&) = delete;

    const std::string& name() const noexcept { return name_; }
    bool backup() const noexcept { return backup_; }
    bool check() const noexcept { return check_; }
    int rise() const noexcept { return rise_; }
    int fall() const noexcept { return fall_; }
    int config_weight() const noexcept { return config_weight_; }
    bool config_disabled() const noexcept { return config_disabled_; }

    conf::Millis slowstart() const noexcept { return slowstart_; }   // 0: none

    Health health() const noexcept { return static_cast<Health>(health_.load(std::memory_order_relaxed)); }
    // 0..rise+fall-1; >= rise while UP. Only meaningful with `check`.
    int health_counter() const noexcept { return counter_.load(std::memory_order_relaxed); }
    Admin admin() const noexcept { return static_cast<Admin>(admin_.load(std::memory_order_relaxed)); }
    // Effective weight the balancers use, 0..kMaxWeight: the user weight, ramped while
    // `starting` (slowstart) when the backend's algorithm is dynamic. HAProxy's eweight
    // expressed in `weight` units (show stat "weight").
    int weight() const noexcept { return weight_.load(std::memory_order_relaxed); }
    // The weight set by the configuration or the stats socket (HAProxy's uweight, show servers
    // state srv_uweight). config_weight() is HAProxy's iweight.
    int user_weight() const noexcept { return user_weight_.load(std::memory_order_relaxed); }
    // Active checks configured (`check`) and not stopped by `disable health`.
    bool checks_enabled() const noexcept { return check_ && checks_on_.load(std::memory_order_relaxed) != 0; }
    // HAProxy's srv_admin_state bits (kAdmf*) and srv_check_state bits (kChkSt*).
    unsigned admin_flags() const noexcept;
    unsigned check_state_flags() const noexcept;
    // core::monotonic_ms() of the last change of health or admin state (HAProxy's last_change:
    // show stat lastchg, show servers state srv_time_since_last_change are now minus this).
    std::uint64_t last_change_ms() const noexcept { return last_change_.load(std::memory_order_relaxed); }
    // Total time spent DOWN (health down, or MAINT) up to now_ms (HAProxy's srv_downtime(), show
    // stat downtime in seconds).
    std::uint64_t downtime_ms(std::uint64_t now_ms) const noexcept;

private:
    friend class BackendState;
    void init(const conf::Server& s, std::uint64_t now_ms);
    void store_health(Health h, int counter) noexcept;

    std::string name_;
    bool backup_ = false, check_ = false, config_disabled_ = false;
    int rise_ = 2, fall_ = 3, config_weight_ = 1;
    conf::Millis slowstart_ = 0;
    std::uint64_t ramp_start_ = 0;   // control thread only: when `starting` began

    std::atomic<std::uint8_t> health_{static_cast<std::uint8_t>(Health::up)};
    std::atomic<std::int32_t> counter_{0};
    std::atomic<std::uint8_t> admin_{static_cast<std::uint8_t>(Admin::ready)};
    std::atomic<std::int32_t> weight_{1};
    std::atomic<std::int32_t> user_weight_{1};
    std::atomic<std::uint8_t> checks_on_{1};
    std::atomic<std::uint64_t> last_change_{0};
    std::atomic<std::uint64_t> down_total_{0};   // closed DOWN periods, ms
};

// CONFIG.md's "usable": UP (or starting), weight > 0, not MAINT, not DRAIN; not stopping.
bool usable(const ServerState& s) noexcept;

// Out of service for downtime and lastchg purposes: health down or MAINT.
bool out_of_service(const ServerState& s) noexcept;

// slowstart (configuration.txt): the weight grows linearly from 1 to 100% of `user_weight` over
// `slowstart` ms after the server came back; at least 1 unless user_weight is 0. Pure.
int slowstart_weight(int user_weight, std::uint64_t elapsed_ms, conf::Millis slowstart) noexcept;
// How often the checker recomputes a ramping weight: slowstart/20 (5% steps), not more often
// than every 100 ms.
conf::Millis slowstart_step(conf::Millis slowstart) noexcept;

// One backend (or listen) and its servers, in conf::Proxy::servers order.
class BackendState {
public:
    explicit BackendState(const conf::Proxy& backend);
    BackendState(const BackendState&) = delete;
    BackendState& operator=(const BackendState&) = delete;

    const std::string& name() const noexcept { return name_; }
    bool disabled() const noexcept { return disabled_; }
    bool allbackups() const noexcept { return allbackups_; }
    int size() const noexcept { return static_cast<int>(servers_.size()); }
    const ServerState& server(int i) const noexcept { return servers_[static_cast<std::size_t>(i)]; }
    int find_server(std::string_view name) const noexcept;   // -1 when absent

    // Moves on every change a worker must see (health state, admin, weight); acquire load.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    // Usable non-backup / backup servers, kept by the writer so nbsrv() is one load.
    int usable_active() const noexcept { return usable_active_.load(std::memory_order_relaxed); }
    int usable_backup() const noexcept { return usable_backup_.load(std::memory_order_relaxed); }

    // The algorithm follows run-time weights (HAProxy's BE_LB_PROP_DYN): every one but static-rr
    // and source (map-based). Static ones take only 0 or the configured weight, never ramp.
    bool dynamic_weights() const noexcept { return dynamic_weights_; }

    // --- control thread only -------------------------------------------------------------
    // Every change below stamps last_change_ms() and keeps downtime_ms() when the server enters
    // or leaves service. now_ms is core::monotonic_ms(); the overloads without it read it.
    //
    // Health: fully UP (counter rise+fall-1, as HAProxy when a rising server reaches rise).
    // A server that was DOWN and has `slowstart` becomes `starting` instead, with weight 1 (or
    // the full weight under a static algorithm), and ramp() takes it to `up`.
    void set_health_up(int s) noexcept;
    void set_health_up(int s, std::uint64_t now_ms) noexcept;
    // DOWN (counter 0).
    void set_health_down(int s) noexcept;
    // HAProxy's STOPPING (NOLB): counter unchanged.
    void set_health_stopping(int s) noexcept;
    // Any state/counter pair (clamped to 0..rise+fall-1); no slowstart.
    void set_health(int s, Health h, int counter) noexcept;
    // Counter only (a check in transition): workers do not care, the generation stays.
    void set_health_counter(int s, int counter) noexcept;
    // Entering MAINT stops the server (health DOWN, counter 0, checks paused), as HAProxy.
    // Leaving MAINT puts it back UP with health = rise ("start OK but check at once",
    // HAProxy's srv_update_status), `starting` if it has slowstart; without `check` it is UP.
    void set_admin(int s, Admin a) noexcept;
    void set_admin(int s, Admin a, std::uint64_t now_ms) noexcept;
    // The user weight (clamped to 0..kMaxWeight); the effective weight follows (ramped while
    // starting).
    void set_weight(int s, int weight) noexcept;
    // `enable|disable health`: the checker skips a server whose checks are off.
    void set_checks_enabled(int s, bool on) noexcept;
    // slowstart: recompute the effective weight of a `starting` server at now_ms, and make it
    // `up` once slowstart has passed. True while it is still starting. Moves the generation
    // only if the weight or the state changed.
    bool ramp(int s, std::uint64_t now_ms) noexcept;

    // Adopts `old`'s state for every server whose name exists there, with HAProxy's
    // server-state rules (src/server_state.c): a change of `disabled` in the configuration wins
    // over the old admin state, otherwise MAINT/READY set at run time is kept; DRAIN is kept;
    // the run-time weight is kept only if the configured weight did not change; health state
    // and counter are kept when both old and new servers have `check` (counter clamped into the
    // new rise/fall range). Servers new in this configuration keep their start state.
    void carry_over(const BackendState& old) noexcept;

private:
    void publish() noexcept;   // recount usable servers, then move the generation
    // Stores health and stamps the change; true if the state (not only the counter) changed.
    bool change_health(ServerState& srv, Health h, int counter, std::uint64_t now_ms) noexcept;
    void stamp(ServerState& srv, bool was_out, std::uint64_t now_ms) noexcept;
    void store_effective_weight(ServerState& srv, std::uint64_t now_ms) noexcept;

    std::string name_;
    bool disabled_ = false, allbackups_ = false, dynamic_weights_ = true;
    std::vector<ServerState> servers_;
    std::atomic<std::uint64_t> generation_{1};
    std::atomic<int> usable_active_{0}, usable_backup_{0};
};

// HAProxy's nbsrv(B): 0 if B is disabled; else the usable non-backup count if there is one;
// else 1 if a backup is usable and `allbackups` is off; else the usable backup count.
int nbsrv(const BackendState& b) noexcept;
// HAProxy's srv_is_up(B/S): not MAINT, and UP unless the server has no `check`
// (src/backend.c smp_fetch_srv_is_up: !MAINT && (!check configured || state != STOPPED)).
// DRAIN and weight 0 do not matter here.
bool srv_is_up(const BackendState& b, int server) noexcept;

// The state of every backend of one Snapshot, indexed like Snapshot::proxies
// (nullptr for a frontend-only proxy). BackendState addresses are stable for its lifetime.
class ServerStateTable {
public:
    explicit ServerStateTable(const conf::Snapshot& snap);

    int size() const noexcept { return static_cast<int>(backends_.size()); }
    BackendState* backend(int proxy_index) noexcept;
    const BackendState* backend(int proxy_index) const noexcept;
    const BackendState* find_backend(std::string_view name) const noexcept;
    BackendState* find_backend(std::string_view name) noexcept;

    // Reload: each backend adopts the old table's backend of the same name (see BackendState).
    void carry_over(const ServerStateTable& old) noexcept;

private:
    std::vector<std::unique_ptr<BackendState>> backends_;
};

}  // namespace skjold::health
