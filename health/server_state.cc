#include "health/server_state.hh"

#include <algorithm>

#include "core/worker.hh"

namespace skjold::health {

namespace {

int clamp_weight(int w) noexcept { return std::clamp(w, 0, kMaxWeight); }

}  // namespace

int haproxy_op_state(Health h) noexcept {
    switch (h) {
    case Health::down: return 0;
    case Health::starting: return 1;
    case Health::up: return 2;
    case Health::stopping: return 3;
    }
    return 0;
}

int slowstart_weight(int user_weight, std::uint64_t elapsed_ms, conf::Millis slowstart) noexcept {
    if (user_weight <= 0) return 0;
    if (slowstart <= 0 || elapsed_ms >= static_cast<std::uint64_t>(slowstart)) return user_weight;
    // Rounded up, so the ramp starts at 1 and reaches the full weight at the end, as HAProxy's
    // server_recalc_eweight().
    const std::uint64_t w = (static_cast<std::uint64_t>(user_weight) * elapsed_ms + static_cast<std::uint64_t>(slowstart) - 1) /
                            static_cast<std::uint64_t>(slowstart);
    return std::clamp(static_cast<int>(w), 1, user_weight);
}

conf::Millis slowstart_step(conf::Millis slowstart) noexcept { return std::max<conf::Millis>(100, slowstart / 20); }

bool out_of_service(const ServerState& s) noexcept { return s.health() == Health::down || s.admin() == Admin::maint; }

unsigned ServerState::admin_flags() const noexcept {
    unsigned f = config_disabled_ ? kAdmfCmaint : 0u;   // HAProxy keeps CMAINT once enabled too
    if (admin() == Admin::maint) f |= kAdmfFmaint;
    if (admin() == Admin::drain) f |= kAdmfFdrain;
    return f;
}

unsigned ServerState::check_state_flags() const noexcept {
    if (!check_) return 0;
    unsigned f = kChkStConfigured;
    if (checks_enabled()) f |= kChkStEnabled;
    if (admin() == Admin::maint) f |= kChkStPaused;
    return f;
}

std::uint64_t ServerState::downtime_ms(std::uint64_t now_ms) const noexcept {
    const std::uint64_t closed = down_total_.load(std::memory_order_relaxed);
    if (!out_of_service(*this)) return closed;
    const std::uint64_t since = last_change_ms();
    return closed + (now_ms > since ? now_ms - since : 0);
}

void ServerState::init(const conf::Server& s, std::uint64_t now_ms) {
    name_ = s.name;
    backup_ = s.opt.backup;
    check_ = s.opt.check;
    config_disabled_ = s.opt.disabled;
    rise_ = std::max(1, s.opt.rise);
    fall_ = std::max(1, s.opt.fall);
    config_weight_ = clamp_weight(s.opt.weight);
    slowstart_ = s.opt.slowstart > 0 ? s.opt.slowstart : 0;
    weight_.store(config_weight_, std::memory_order_relaxed);
    user_weight_.store(config_weight_, std::memory_order_relaxed);
    last_change_.store(now_ms, std::memory_order_relaxed);
    if (config_disabled_) {
        // HAProxy's `disabled`: MAINT, stopped, health 0, checks paused until it leaves MAINT.
        admin_.store(static_cast<std::uint8_t>(Admin::maint), std::memory_order_relaxed);
        store_health(Health::down, 0);
    } else {
        // CONFIG.md: a server starts UP with its health counter at `rise` (one failure: DOWN).
        admin_.store(static_cast<std::uint8_t>(Admin::ready), std::memory_order_relaxed);
        store_health(Health::up, rise_);
    }
}

void ServerState::store_health(Health h, int counter) noexcept {
    health_.store(static_cast<std::uint8_t>(h), std::memory_order_relaxed);
    counter_.store(std::clamp(counter, 0, rise_ + fall_ - 1), std::memory_order_relaxed);
}

bool usable(const ServerState& s) noexcept {
    const Health h = s.health();
    return (h == Health::up || h == Health::starting) && s.weight() > 0 && s.admin() == Admin::ready;
}

BackendState::BackendState(const conf::Proxy& backend)
    : name_(backend.name),
      disabled_(backend.disabled),
      allbackups_(backend.option_allbackups),
      dynamic_weights_(backend.balance != conf::Balance::static_rr && backend.balance != conf::Balance::source),
      servers_(backend.servers.size()) {
    const std::uint64_t now = core::monotonic_ms();
    for (std::size_t i = 0; i < servers_.size(); ++i) servers_[i].init(backend.servers[i], now);
    publish();
}

int BackendState::find_server(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < servers_.size(); ++i)
        if (servers_[i].name() == name) return static_cast<int>(i);
    return -1;
}

void BackendState::publish() noexcept {
    int act = 0, bck = 0;
    for (const auto& s : servers_) {
        if (!usable(s)) continue;
        (s.backup() ? bck : act) += 1;
    }
    usable_active_.store(act, std::memory_order_relaxed);
    usable_backup_.store(bck, std::memory_order_relaxed);
    // Single writer: a load and a release store, no locked read-modify-write needed.
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void BackendState::stamp(ServerState& srv, bool was_out, std::uint64_t now_ms) noexcept {
    const std::uint64_t since = srv.last_change_ms();
    if (was_out && !out_of_service(srv) && now_ms > since)
        srv.down_total_.store(srv.down_total_.load(std::memory_order_relaxed) + (now_ms - since), std::memory_order_relaxed);
    srv.last_change_.store(now_ms, std::memory_order_relaxed);
}

void BackendState::store_effective_weight(ServerState& srv, std::uint64_t now_ms) noexcept {
    const int uw = srv.user_weight();
    int w = uw;
    if (srv.health() == Health::starting && dynamic_weights_)
        w = slowstart_weight(uw, now_ms > srv.ramp_start_ ? now_ms - srv.ramp_start_ : 0, srv.slowstart());
    srv.weight_.store(w, std::memory_order_relaxed);
}

bool BackendState::change_health(ServerState& srv, Health h, int counter, std::uint64_t now_ms) noexcept {
    const Health before = srv.health();
    const bool was_out = out_of_service(srv);
    srv.store_health(h, counter);
    if (before == h) return false;
    if (h == Health::starting) srv.ramp_start_ = now_ms;
    store_effective_weight(srv, now_ms);
    stamp(srv, was_out, now_ms);
    return true;
}

void BackendState::set_health(int s, Health h, int counter) noexcept {
    if (change_health(servers_[static_cast<std::size_t>(s)], h, counter, core::monotonic_ms())) publish();
}

void BackendState::set_health_up(int s) noexcept { set_health_up(s, core::monotonic_ms()); }

void BackendState::set_health_up(int s, std::uint64_t now_ms) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const int top = srv.rise() + srv.fall() - 1;
    // slowstart applies only to a server seen failed before (never at start, never to one
    // that was only stopping), as HAProxy's srv_set_running().
    const Health h = srv.health();
    const bool ramp = srv.slowstart() > 0 && h == Health::down;
    if (h == Health::starting) {
        srv.store_health(h, top);
        return;
    }
    if (change_health(srv, ramp ? Health::starting : Health::up, top, now_ms)) publish();
}

void BackendState::set_health_down(int s) noexcept { set_health(s, Health::down, 0); }

void BackendState::set_health_stopping(int s) noexcept {
    const auto& srv = servers_[static_cast<std::size_t>(s)];
    set_health(s, Health::stopping, srv.health_counter());
}

void BackendState::set_health_counter(int s, int counter) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    srv.store_health(srv.health(), counter);
}

void BackendState::set_admin(int s, Admin a) noexcept { set_admin(s, a, core::monotonic_ms()); }

void BackendState::set_admin(int s, Admin a, std::uint64_t now_ms) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const Admin before = srv.admin();
    if (before == a) return;
    const bool was_out = out_of_service(srv);
    srv.admin_.store(static_cast<std::uint8_t>(a), std::memory_order_relaxed);
    if (a == Admin::maint) {
        // Entering MAINT stops the server and pauses its checks (srv_update_status()).
        srv.store_health(Health::down, 0);
    } else if (before == Admin::maint) {
        // Leaving MAINT: start OK (health = rise) and let the checks confirm it at once; a
        // server coming back from maintenance ramps up with slowstart.
        const bool ramp = srv.slowstart() > 0;
        srv.store_health(ramp ? Health::starting : Health::up, srv.rise());
        if (ramp) srv.ramp_start_ = now_ms;
    }
    store_effective_weight(srv, now_ms);
    stamp(srv, was_out, now_ms);
    publish();
}

void BackendState::set_weight(int s, int weight) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const int w = clamp_weight(weight);
    const int before = srv.weight();
    srv.user_weight_.store(w, std::memory_order_relaxed);
    store_effective_weight(srv, core::monotonic_ms());
    if (srv.weight() != before) publish();
}

void BackendState::set_checks_enabled(int s, bool on) noexcept {
    servers_[static_cast<std::size_t>(s)].checks_on_.store(on ? 1 : 0, std::memory_order_relaxed);
}

bool BackendState::ramp(int s, std::uint64_t now_ms) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    if (srv.health() != Health::starting) return false;
    const int before = srv.weight();
    const bool done = srv.slowstart() <= 0 || now_ms >= srv.ramp_start_ + static_cast<std::uint64_t>(srv.slowstart());
    if (done) srv.health_.store(static_cast<std::uint8_t>(Health::up), std::memory_order_relaxed);
    store_effective_weight(srv, now_ms);
    if (done || srv.weight() != before) publish();
    return !done;
}

void BackendState::carry_over(const BackendState& old) noexcept {
    for (auto& srv : servers_) {
        const int o = old.find_server(srv.name());
        if (o < 0) continue;
        const ServerState& prev = old.server(o);

        // Admin: a `disabled` added or removed in the configuration wins; otherwise what the
        // operator set at run time (MAINT or READY) stays. DRAIN stays unless MAINT.
        Admin admin = srv.admin();
        if (prev.config_disabled() == srv.config_disabled()) {
            const bool maint = prev.admin() == Admin::maint;
            admin = maint ? Admin::maint : (prev.admin() == Admin::drain ? Admin::drain : Admin::ready);
        } else if (admin != Admin::maint && prev.admin() == Admin::drain) {
            admin = Admin::drain;
        }
        srv.admin_.store(static_cast<std::uint8_t>(admin), std::memory_order_relaxed);

        // Health: in MAINT a server is stopped with health 0 (as `disabled`); otherwise keep
        // what the checks found when both versions are checked, else the start state.
        if (admin == Admin::maint) {
            srv.store_health(Health::down, 0);
        } else if (prev.check() && srv.check() && prev.admin() != Admin::maint) {
            const Health h = prev.health();
            const int top = srv.rise() + srv.fall() - 1;
            const int c = h == Health::down ? std::min(prev.health_counter(), srv.rise() - 1)
                                            : std::clamp(prev.health_counter(), srv.rise(), top);
            srv.store_health(h, c);
        } else {
            srv.store_health(Health::up, srv.rise());
        }

        // Weight: the run-time value survives only if the configured weight is unchanged. A
        // server still ramping (slowstart) continues its ramp from where it was.
        if (prev.config_weight() == srv.config_weight())
            srv.user_weight_.store(prev.user_weight(), std::memory_order_relaxed);
        if (srv.health() == Health::starting) srv.ramp_start_ = prev.ramp_start_;
        srv.weight_.store(srv.user_weight(), std::memory_order_relaxed);
        if (srv.health() == Health::starting) store_effective_weight(srv, core::monotonic_ms());
        srv.last_change_.store(prev.last_change_ms(), std::memory_order_relaxed);
        srv.down_total_.store(prev.down_total_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        srv.checks_on_.store(prev.checks_on_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    publish();
}

int nbsrv(const BackendState& b) noexcept {
    if (b.disabled()) return 0;
    const int act = b.usable_active();
    if (act > 0) return act;
    const int bck = b.usable_backup();
    if (bck > 0 && !b.allbackups()) return 1;
    return bck;
}

bool srv_is_up(const BackendState& b, int server) noexcept {
    if (server < 0 || server >= b.size()) return false;
    const ServerState& s = b.server(server);
    return s.admin() != Admin::maint && (!s.check() || s.health() != Health::down);
}

ServerStateTable::ServerStateTable(const conf::Snapshot& snap) {
    backends_.resize(snap.proxies.size());
    for (std::size_t i = 0; i < snap.proxies.size(); ++i)
        if (snap.proxies[i].is_backend) backends_[i] = std::make_unique<BackendState>(snap.proxies[i]);
}

BackendState* ServerStateTable::backend(int proxy_index) noexcept {
    if (proxy_index < 0 || proxy_index >= size()) return nullptr;
    return backends_[static_cast<std::size_t>(proxy_index)].get();
}

const BackendState* ServerStateTable::backend(int proxy_index) const noexcept {
    if (proxy_index < 0 || proxy_index >= size()) return nullptr;
    return backends_[static_cast<std::size_t>(proxy_index)].get();
}

const BackendState* ServerStateTable::find_backend(std::string_view name) const noexcept {
    for (const auto& b : backends_)
        if (b && b->name() == name) return b.get();
    return nullptr;
}

BackendState* ServerStateTable::find_backend(std::string_view name) noexcept {
    for (auto& b : backends_)
        if (b && b->name() == name) return b.get();
    return nullptr;
}

void ServerStateTable::carry_over(const ServerStateTable& old) noexcept {
    for (auto& b : backends_) {
        if (!b) continue;
        if (const BackendState* prev = old.find_backend(b->name())) b->carry_over(*prev);
    }
}

}  // namespace skjold::health
