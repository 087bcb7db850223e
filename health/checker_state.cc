// Everything the checker thread changes in the server state, and the log lines that go with it:
// check verdicts, stats-socket commands, passive observation, slowstart ramps.
// Semantics: HAProxy 2.6 src/check.c (set_server_check_status, check_notify_failure/success,
// __health_adjust), src/server.c (srv_update_status, srv_set_running/stopping/stopped,
// srv_adm_set_*, server_parse_weight_change_request), src/cli.c messages; the log lines were
// compared with haproxy 2.6.12 on 127.0.0.1.

#include <algorithm>

#include "core/worker.hh"
#include "health/checker_impl.hh"
#include "health/health_counter.hh"

namespace skjold::health {

namespace {

constexpr std::string_view kFromCli = "changed from CLI";

BackendCounts counts(const BackendState& b) noexcept { return {b.usable_active(), b.usable_backup()}; }
int usable_total(const BackendState& b) noexcept { return b.usable_active() + b.usable_backup(); }

}  // namespace

void Checker::Impl::emit(int proxy_index, core::Level level, std::string_view text) noexcept {
    if (opt.log) {
        try {
            opt.log(proxy_index, level, text);
        } catch (...) {
        }
        return;
    }
    if (core::log_enabled(level)) core::log_write(level, text);
}

std::uint64_t Checker::Impl::sessions(int proxy_index, int server_index) noexcept {
    if (!opt.current_sessions) return 0;
    try {
        return opt.current_sessions(proxy_index, server_index);
    } catch (...) {
        return 0;
    }
}

ServerRef Checker::Impl::ref(int proxy_index, int server_index) const noexcept {
    const conf::Proxy& px = snap->proxies[static_cast<std::size_t>(proxy_index)];
    const conf::Server& srv = px.servers[static_cast<std::size_t>(server_index)];
    return {px.name, srv.name, srv.opt.backup};
}

// The verdict of one check, or of observe's simulated one (HANA): the health counter moves as
// set_server_check_status() moves it, and the server goes DOWN or UP as check_notify_*() say.
void Checker::Impl::apply_verdict(Slot& s, const CheckReport& rep) noexcept {
    const std::uint64_t now = core::monotonic_ms();
    BackendState& b = *s.backend;
    const int si = s.server_index;
    const ServerState& st = b.server(si);
    const bool passed = check_status_passed(rep.status);
    const Health before = st.health();
    const bool was_down = before == Health::down;
    const HealthStep step = next_health(st.health_counter(), st.rise(), st.fall(), passed);
    if (!passed && step.changed) s.stats.count_failure();

    const ServerRef r = ref(s.proxy_index, si);
    const bool log_checks = s.proxy->option_log_health_checks;
    if (log_checks && (step.changed || rep.status != s.last_status))
        emit(s.proxy_index, core::Level::notice,
             line.health_check(r, rep, step.health, st.rise(), st.fall(), st.user_weight() == 0));
    s.last_status = rep.status;

    if (becomes_down(step.health, passed) && !was_down) {
        const int usable_before = usable_total(b);
        b.set_health_down(si);
        s.stats.count_down();
        emit(s.proxy_index, core::Level::alert,
             line.server_down(r, log_checks ? nullptr : &rep, counts(b), sessions(s.proxy_index, si)));
        if (usable_before > 0 && usable_total(b) == 0)
            emit(s.proxy_index, core::Level::emerg, line.no_server(s.proxy->name, s.proxy->is_frontend));
    } else if (becomes_up(step.health, st.rise(), passed) && (was_down || before == Health::stopping)) {
        // A DOWN server reaching rise, or a stopping (NOLB) one passing: running again.
        b.set_health_up(si, now);
        arm_ramp(s.proxy_index, si, now);
        emit(s.proxy_index, core::Level::notice, line.server_up(r, log_checks ? nullptr : &rep, counts(b)));
    } else if (step.changed) {
        b.set_health_counter(si, step.health);
    }
}

void Checker::Impl::serve_admin() noexcept {
    if (admin_state.load(std::memory_order_acquire) != 1) return;
    admin_result = apply_admin(*admin_cmd, core::monotonic_ms());
    admin_state.store(2, std::memory_order_release);
    admin_state.notify_all();
}

core::Result<void> Checker::Impl::apply_admin(const AdminCommand& cmd, std::uint64_t now) noexcept {
    const auto& proxies = snap->proxies;
    if (cmd.proxy < 0 || static_cast<std::size_t>(cmd.proxy) >= proxies.size() || !table.backend(cmd.proxy))
        return core::fail(core::Errc::not_found, "No such backend.");
    const conf::Proxy& px = proxies[static_cast<std::size_t>(cmd.proxy)];
    if (cmd.server < 0 || static_cast<std::size_t>(cmd.server) >= px.servers.size())
        return core::fail(core::Errc::not_found, "No such server.");

    const int p = cmd.proxy, si = cmd.server;
    BackendState& b = *table.backend(p);
    const ServerState& st = b.server(si);
    const ServerRef r = ref(p, si);
    Slot* slot_p = slot(p, si);
    const int usable_before = usable_total(b);
    const int top = st.rise() + st.fall() - 1;
    auto announce_loss = [&] {
        if (usable_before > 0 && usable_total(b) == 0) emit(p, core::Level::emerg, line.no_server(px.name, px.is_frontend));
    };

    switch (cmd.op) {
    case AdminCommand::Op::set_state:
    case AdminCommand::Op::enable_server:
    case AdminCommand::Op::disable_server: {
        const Admin target = cmd.op == AdminCommand::Op::enable_server    ? Admin::ready
                             : cmd.op == AdminCommand::Op::disable_server ? Admin::maint
                                                                          : cmd.admin;
        const Admin before = st.admin();
        if (before == target) return {};
        const bool was_down = st.health() == Health::down;
        b.set_admin(si, target, now);
        if (target == Admin::maint) {
            emit(p, was_down ? core::Level::notice : core::Level::alert,
                 line.maint_enter(r, was_down, counts(b), sessions(p, si)));
        } else if (before == Admin::maint) {
            emit(p, core::Level::notice, line.maint_leave(r, target == Admin::drain));
            if (target == Admin::drain) emit(p, core::Level::notice, line.drain_remains(r));
            // "Start OK but check at once": health is at rise, the next check confirms it.
            if (slot_p && slot_p->phase == Phase::idle) wheel->arm(*slot_p, now);
            arm_ramp(p, si, now);
        } else if (target == Admin::drain) {
            emit(p, core::Level::notice, line.drain_enter(r, counts(b)));
        } else {
            emit(p, core::Level::notice, line.drain_leave(r));
        }
        announce_loss();
        return {};
    }
    case AdminCommand::Op::set_health: {
        const Health h = st.health();
        const bool maint = st.admin() == Admin::maint;   // stopped by maintenance: counter only
        switch (cmd.health) {
        case Health::up:
            if (maint || h == Health::up || h == Health::starting) {
                b.set_health_counter(si, top);
                return {};
            }
            b.set_health_counter(si, top);
            b.set_health_up(si, now);
            arm_ramp(p, si, now);
            emit(p, core::Level::notice, line.server_up(r, kFromCli, counts(b)));
            return {};
        case Health::stopping:
            if (maint || h == Health::stopping) return {};
            b.set_health_stopping(si);
            emit(p, core::Level::notice, line.server_stopping(r, kFromCli, counts(b)));
            announce_loss();
            return {};
        case Health::down:
            if (maint || h == Health::down) {
                b.set_health_counter(si, 0);
                return {};
            }
            b.set_health_down(si);
            if (slot_p) slot_p->stats.count_down();
            emit(p, core::Level::alert, line.server_down(r, kFromCli, counts(b), sessions(p, si)));
            announce_loss();
            return {};
        case Health::starting:
            break;
        }
        return core::fail(core::Errc::invalid_argument, "'set server <srv> health' expects 'up', 'stopping', or 'down'.");
    }
    case AdminCommand::Op::set_weight: {
        if (cmd.percent && cmd.weight < 0) return core::fail(core::Errc::invalid_argument, "Relative weight must be positive.");
        if (!cmd.percent && (cmd.weight < 0 || cmd.weight > kMaxWeight))
            return core::fail(core::Errc::invalid_argument, "Absolute weight can only be between 0 and 256 inclusive.");
        const int w = resolve_weight(st.config_weight(), {cmd.weight, cmd.percent});
        if (w != 0 && w != st.config_weight() && !b.dynamic_weights())
            return core::fail(core::Errc::invalid_argument,
                              "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.");
        b.set_weight(si, w);
        announce_loss();
        return {};
    }
    case AdminCommand::Op::enable_health:
        if (!st.check() || slot_p == nullptr)
            return core::fail(core::Errc::unsupported, "Health check was not configured on this server, cannot enable.");
        b.set_checks_enabled(si, true);
        return {};
    case AdminCommand::Op::disable_health:
        b.set_checks_enabled(si, false);
        return {};
    }
    return core::fail(core::Errc::invalid_argument, "Unknown command.");
}

void Checker::Impl::drain_observer(std::uint64_t now) noexcept {
    if (opt.observer == nullptr) return;
    opt.observer->drain([this, now](int p, int s, ObserveEvent ev) { on_observed(p, s, ev, now); });
}

// __health_adjust(): a success clears the consecutive errors; at error-limit, on-error applies
// (every mode also forces fastinter), the count restarts and hanafail counts one.
void Checker::Impl::on_observed(int proxy_index, int server_index, ObserveEvent ev, std::uint64_t now) noexcept {
    Slot* s = slot(proxy_index, server_index);
    if (s == nullptr) return;   // observe needs check
    const conf::ServerOptions& o = s->server->opt;
    const int verdict = observe_verdict(o.observe, ev);
    if (verdict == 0) return;
    BackendState& b = *s->backend;
    const ServerState& st = b.server(server_index);
    if (st.admin() == Admin::maint || !st.checks_enabled()) return;
    if (verdict < 0) {
        if (s->observed_errors != 0) {
            s->observed_errors = 0;
            opt.observer->set_errors(proxy_index, server_index, 0);
        }
        return;
    }
    ++s->observed_errors;
    if (s->observed_errors < std::max(1, o.error_limit)) {
        opt.observer->set_errors(proxy_index, server_index, s->observed_errors);
        return;
    }

    char desc[kCheckDescMax + 1];
    const auto out = fmt::format_to_n(desc, kCheckDescMax, "Detected {} consecutive errors, last one was: {}",
                                      s->observed_errors, observe_event_text(ev));
    const std::string_view text(desc, std::min<std::size_t>(out.size, kCheckDescMax));
    s->force_fast = true;
    switch (o.on_error) {
    case conf::OnError::fastinter:
        break;
    case conf::OnError::sudden_death:   // one more failure marks it DOWN
        if (st.health_counter() > st.rise()) b.set_health_counter(server_index, st.rise() + 1);
        [[fallthrough]];
    case conf::OnError::fail_check:
        s->stats.record_verdict(CheckStatus::hana, text);
        apply_verdict(*s, CheckReport{CheckStatus::hana, 0, -1, text});
        break;
    case conf::OnError::mark_down:      // health = rise, then one failure: DOWN
        b.set_health_counter(server_index, st.rise());
        s->stats.record_verdict(CheckStatus::hana, text);
        apply_verdict(*s, CheckReport{CheckStatus::hana, 0, -1, text});
        break;
    }
    s->observed_errors = 0;
    opt.observer->set_errors(proxy_index, server_index, 0);
    s->stats.count_observe_failure();
    hasten(*s, now);
}

void Checker::Impl::arm_ramp(int proxy_index, int server_index, std::uint64_t now) noexcept {
    const std::size_t g = proxy_base[static_cast<std::size_t>(proxy_index)] + static_cast<std::size_t>(server_index);
    const int i = ramp_of[g];
    if (i < 0) return;
    const BackendState& b = *table.backend(proxy_index);
    const ServerState& st = b.server(server_index);
    if (st.health() != Health::starting) return;
    RampNode& r = ramps[static_cast<std::size_t>(i)];
    if (!r.armed()) wheel->arm(r, now + static_cast<std::uint64_t>(slowstart_step(st.slowstart())));
}

void Checker::Impl::on_ramp(RampNode& r, std::uint64_t now) noexcept {
    BackendState& b = *table.backend(r.proxy_index);
    if (b.ramp(r.server_index, now))
        wheel->arm(r, now + static_cast<std::uint64_t>(slowstart_step(b.server(r.server_index).slowstart())));
}

void Checker::Impl::arm_ramps_at_start(std::uint64_t now) noexcept {
    for (std::size_t i = 0; i < nramps; ++i) arm_ramp(ramps[i].proxy_index, ramps[i].server_index, now);
}

}  // namespace skjold::health
