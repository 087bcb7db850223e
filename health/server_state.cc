#include "health/server_state.hh"

#include <algorithm>

namespace skjold::health {

namespace {

int clamp_weight(int w) noexcept { return std::clamp(w, 0, kMaxWeight); }

}  // namespace

void ServerState::init(const conf::Server& s) {
    name_ = s.name;
    backup_ = s.opt.backup;
    check_ = s.opt.check;
    config_disabled_ = s.opt.disabled;
    rise_ = std::max(1, s.opt.rise);
    fall_ = std::max(1, s.opt.fall);
    config_weight_ = clamp_weight(s.opt.weight);
    weight_.store(config_weight_, std::memory_order_relaxed);
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
    return s.health() != Health::down && s.weight() > 0 && s.admin() == Admin::ready;
}

BackendState::BackendState(const conf::Proxy& backend)
    : name_(backend.name),
      disabled_(backend.disabled),
      allbackups_(backend.option_allbackups),
      servers_(backend.servers.size()) {
    for (std::size_t i = 0; i < servers_.size(); ++i) servers_[i].init(backend.servers[i]);
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

void BackendState::set_health(int s, Health h, int counter) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const Health before = srv.health();
    srv.store_health(h, counter);
    if (before != h) publish();
}

void BackendState::set_health_up(int s) noexcept {
    const auto& srv = servers_[static_cast<std::size_t>(s)];
    set_health(s, Health::up, srv.rise() + srv.fall() - 1);
}

void BackendState::set_health_down(int s) noexcept { set_health(s, Health::down, 0); }

void BackendState::set_health_counter(int s, int counter) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    srv.store_health(srv.health(), counter);
}

void BackendState::set_admin(int s, Admin a) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const Admin before = srv.admin();
    if (before == a) return;
    srv.admin_.store(static_cast<std::uint8_t>(a), std::memory_order_relaxed);
    if (before == Admin::maint) {
        // Leaving MAINT: start OK (health = rise) and let the checks confirm it at once.
        srv.store_health(Health::up, srv.rise());
    }
    publish();
}

void BackendState::set_weight(int s, int weight) noexcept {
    auto& srv = servers_[static_cast<std::size_t>(s)];
    const int w = clamp_weight(weight);
    if (srv.weight() == w) return;
    srv.weight_.store(w, std::memory_order_relaxed);
    publish();
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

        // Weight: the run-time value survives only if the configured weight is unchanged.
        if (prev.config_weight() == srv.config_weight())
            srv.weight_.store(prev.weight(), std::memory_order_relaxed);
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
