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

// Operational state. `starting` is UP with a ramping weight (slowstart, health-check issue);
// it counts as UP everywhere.
enum class Health : std::uint8_t { down, starting, up };
// Admin state, separate from health. MAINT: out of everything (config `disabled`, stats socket).
// DRAIN: keeps its connections but gets no new load-balanced traffic.
enum class Admin : std::uint8_t { ready, maint, drain };

inline constexpr int kMaxWeight = 256;   // HAProxy's bound for `weight` and `set weight`

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

    Health health() const noexcept { return static_cast<Health>(health_.load(std::memory_order_relaxed)); }
    // 0..rise+fall-1; >= rise while UP. Only meaningful with `check`.
    int health_counter() const noexcept { return counter_.load(std::memory_order_relaxed); }
    Admin admin() const noexcept { return static_cast<Admin>(admin_.load(std::memory_order_relaxed)); }
    // Effective weight for balancing (configured, or set by the stats socket), 0..kMaxWeight.
    int weight() const noexcept { return weight_.load(std::memory_order_relaxed); }

private:
    friend class BackendState;
    void init(const conf::Server& s);
    void store_health(Health h, int counter) noexcept;

    std::string name_;
    bool backup_ = false, check_ = false, config_disabled_ = false;
    int rise_ = 2, fall_ = 3, config_weight_ = 1;

    std::atomic<std::uint8_t> health_{static_cast<std::uint8_t>(Health::up)};
    std::atomic<std::int32_t> counter_{0};
    std::atomic<std::uint8_t> admin_{static_cast<std::uint8_t>(Admin::ready)};
    std::atomic<std::int32_t> weight_{1};
};

// CONFIG.md's "usable": UP (or starting), weight > 0, not MAINT, not DRAIN.
bool usable(const ServerState& s) noexcept;

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

    // --- control thread only -------------------------------------------------------------
    // Health: fully UP (counter rise+fall-1, as HAProxy when a rising server reaches rise),
    // DOWN (counter 0), or any state/counter pair (clamped to 0..rise+fall-1).
    void set_health_up(int s) noexcept;
    void set_health_down(int s) noexcept;
    void set_health(int s, Health h, int counter) noexcept;
    // Counter only (a check in transition): workers do not care, the generation stays.
    void set_health_counter(int s, int counter) noexcept;
    // Leaving MAINT puts the server back UP with health = rise ("start OK but check at once",
    // HAProxy's srv_update_status); a server without `check` is simply UP again.
    void set_admin(int s, Admin a) noexcept;
    void set_weight(int s, int weight) noexcept;   // clamped to 0..kMaxWeight

    // Adopts `old`'s state for every server whose name exists there, with HAProxy's
    // server-state rules (src/server_state.c): a change of `disabled` in the configuration wins
    // over the old admin state, otherwise MAINT/READY set at run time is kept; DRAIN is kept;
    // the run-time weight is kept only if the configured weight did not change; health state
    // and counter are kept when both old and new servers have `check` (counter clamped into the
    // new rise/fall range). Servers new in this configuration keep their start state.
    void carry_over(const BackendState& old) noexcept;

private:
    void publish() noexcept;   // recount usable servers, then move the generation

    std::string name_;
    bool disabled_ = false, allbackups_ = false;
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
