#include "health/checker.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/worker.hh"
#include "health/checker_impl.hh"
#include "health/health_counter.hh"

namespace skjold::health {

namespace {

constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};
constexpr std::uint64_t kObserveTag = ~std::uint64_t{0} - 1;
constexpr int kMaxEvents = 64;
constexpr std::uint64_t kMaxWaitMs = 1000;        // also bounds how long stop() can wait without the eventfd
constexpr conf::Millis kSpreadThreshold = 1000;   // HAProxy's SRV_CHK_INTER_THRES

std::uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t pack(std::uint32_t slot, std::uint32_t gen) noexcept { return (std::uint64_t{gen} << 32) | slot; }

// srv_check_healthcheck_port(): `addr` if given, else the server address; `port` if given,
// else the server's port (`addr` carries none).
core::SockAddr check_target(const conf::Server& srv) noexcept {
    core::SockAddr t = srv.opt.check_addr ? *srv.opt.check_addr : srv.addr;
    if (!t.is_unix()) t.set_port(static_cast<std::uint16_t>(srv.opt.check_port > 0 ? srv.opt.check_port : srv.addr.port()));
    return t;
}

bool checkable(const conf::Server& srv) noexcept {
    if (!srv.opt.check) return false;
    const core::SockAddr t = check_target(srv);
    return t.is_unix() || t.port() != 0;
}

}  // namespace

const char* errno_text(int e) noexcept {
    const char* s = strerrordesc_np(e);
    return s ? s : "Unknown error";
}

Checker::Impl::Impl(std::shared_ptr<const conf::Snapshot> s, ServerStateTable& t, Options o)
    : snap(std::move(s)), table(t), opt(std::move(o)), wheel(std::make_unique<core::TimerWheel>(core::monotonic_ms())) {}

Slot* Checker::Impl::slot(int proxy_index, int server_index) noexcept {
    if (proxy_index < 0 || static_cast<std::size_t>(proxy_index) + 1 >= proxy_base.size() || server_index < 0) return nullptr;
    const std::size_t g = proxy_base[static_cast<std::size_t>(proxy_index)] + static_cast<std::size_t>(server_index);
    if (g >= proxy_base[static_cast<std::size_t>(proxy_index) + 1]) return nullptr;
    const int i = slot_of[g];
    return i < 0 ? nullptr : &slots[static_cast<std::size_t>(i)];
}

void Checker::Impl::build() {
    const auto& proxies = snap->proxies;
    proxy_base.resize(proxies.size() + 1, 0);
    for (std::size_t p = 0; p < proxies.size(); ++p) proxy_base[p + 1] = proxy_base[p] + proxies[p].servers.size();
    slot_of.assign(proxy_base.back(), -1);
    http_checks.resize(proxies.size());

    std::size_t n = 0, nhttp = 0;
    for (std::size_t p = 0; p < proxies.size(); ++p) {
        const conf::Proxy& px = proxies[p];
        if (!px.is_backend || px.disabled || !table.backend(static_cast<int>(p))) continue;
        bool any = false;
        for (const auto& srv : px.servers) {
            any = any || checkable(srv);
            if (srv.opt.check && !checkable(srv))   // HAProxy refuses this configuration (init_srv_check())
                SKJOLD_LOG(alert, "config : {} '{}': server '{}' has neither service port nor check port; "
                                  "its health check is disabled.",
                           px.is_frontend ? "proxy" : "backend", px.name, srv.name);
        }
        if (!any) continue;
        if (px.httpchk.enabled) {
            auto h = HttpCheck::compile(px.httpchk);
            if (!h) {
                SKJOLD_LOG(err, "{} '{}': health checks disabled: {}", px.is_frontend ? "proxy" : "backend", px.name,
                           core::describe(h.error()));
                continue;
            }
            http_checks[p] = std::move(*h);
        }
        for (const auto& srv : px.servers) {
            if (!checkable(srv)) continue;
            ++n;
            if (http_checks[p]) ++nhttp;
        }
    }

    const std::size_t rx_cap = std::max<std::size_t>(snap->global.bufsize, 1024);
    rx_arena = std::make_unique<char[]>(nhttp * rx_cap);
    slots = std::make_unique<Slot[]>(n);
    nslots = n;
    std::size_t i = 0, h = 0;
    for (std::size_t p = 0; p < proxies.size(); ++p) {
        const conf::Proxy& px = proxies[p];
        if (!px.is_backend || px.disabled || !table.backend(static_cast<int>(p))) continue;
        if (px.httpchk.enabled && !http_checks[p]) continue;
        for (std::size_t k = 0; k < px.servers.size(); ++k) {
            const conf::Server& srv = px.servers[k];
            if (!checkable(srv)) continue;
            Slot& s = slots[i];
            s.proxy_index = static_cast<int>(p);
            s.server_index = static_cast<int>(k);
            s.backend = table.backend(static_cast<int>(p));
            s.proxy = &px;
            s.server = &srv;
            s.http = http_checks[p].get();
            s.target = check_target(srv);
            const conf::Timeouts& to = px.timeouts;
            s.check_timeout = to.check > 0 ? to.check : conf::kUnset;
            s.connect_bound = srv.opt.inter;
            if (s.check_timeout != conf::kUnset && to.connect > 0) s.connect_bound = std::min(srv.opt.inter, to.connect);
            if (check_uses_tls(srv)) {
                auto t = CheckTls::create(srv, snap->global);
                if (t) {
                    s.tls = t->get();
                    tls_checks.push_back(std::move(*t));
                } else {   // load_tls_config() accepted it: only out of memory gets here
                    SKJOLD_LOG(alert, "backend '{}': server '{}': TLS health checks: {}", px.name, srv.name,
                               core::describe(t.error()));
                }
            }
            if (s.http) {
                s.rx = rx_arena.get() + h * rx_cap;
                s.rx_cap = rx_cap;
                ++h;
            }
            slot_of[proxy_base[p] + k] = static_cast<int>(i);
            ++i;
        }
    }
    nslots = i;   // == n: the same backends were skipped in both passes

    // slowstart ramps: every server with `slowstart` in an enabled backend, checked or not (the
    // stats socket can bring an unchecked server back from maintenance).
    ramp_of.assign(proxy_base.back(), -1);
    std::size_t nr = 0;
    for (std::size_t p = 0; p < proxies.size(); ++p)
        if (proxies[p].is_backend && !proxies[p].disabled && table.backend(static_cast<int>(p)))
            for (const auto& srv : proxies[p].servers) nr += srv.opt.slowstart > 0 ? 1 : 0;
    ramps = std::make_unique<RampNode[]>(nr);
    nramps = 0;
    for (std::size_t p = 0; p < proxies.size(); ++p) {
        if (!proxies[p].is_backend || proxies[p].disabled || !table.backend(static_cast<int>(p))) continue;
        for (std::size_t k = 0; k < proxies[p].servers.size(); ++k) {
            if (proxies[p].servers[k].opt.slowstart <= 0) continue;
            ramps[nramps].proxy_index = static_cast<int>(p);
            ramps[nramps].server_index = static_cast<int>(k);
            ramp_of[proxy_base[p] + k] = static_cast<int>(nramps++);
        }
    }
}

// start_checks()/start_check_task(): the i-th of n checks starts at max(mininter, its
// interval) * i / n, mininter being the smallest interval of at least 1 s.
void Checker::Impl::schedule_first(std::uint64_t now) noexcept {
    conf::Millis mininter = 0;
    auto first_interval = [](const Slot& s) {
        const ServerState& st = s.backend->server(s.server_index);
        return check_interval(s.server->opt, st.health_counter(), st.health() == Health::down);
    };
    for (const Slot& s : span()) {
        const conf::Millis g = first_interval(s);
        if (g >= kSpreadThreshold && (mininter == 0 || g < mininter)) mininter = g;
    }
    const auto n = static_cast<conf::Millis>(nslots);
    for (std::size_t i = 0; i < nslots; ++i) {
        Slot& s = slots[i];
        const conf::Millis g = first_interval(s);
        conf::Millis m = std::max(mininter, g) + jitter(g);
        if (m < 0) m = 0;
        wheel->arm(s, now + static_cast<std::uint64_t>(m * static_cast<conf::Millis>(i) / n));
    }
}

conf::Millis Checker::Impl::jitter(conf::Millis interval) noexcept {
    const int spread = snap->global.spread_checks;
    if (spread <= 0) return 0;
    const conf::Millis rv = interval * spread / 100;
    return rv - static_cast<conf::Millis>(2.0 * static_cast<double>(rv) * random01());
}

double Checker::Impl::random01() noexcept {
    // xorshift64*: the jitter only has to be spread, not secret.
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return static_cast<double>((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

void Checker::Impl::run() noexcept {
    epoll_event events[kMaxEvents];
    while (!stopping.load(std::memory_order_acquire)) {
        const std::uint64_t before = core::monotonic_ms();
        const auto wait = static_cast<int>(wheel->next_wait(before, kMaxWaitMs));
        const int n = epoll_wait(ep, events, kMaxEvents, wait);
        for (int e = 0; e < n; ++e) {
            const std::uint64_t tag = events[e].data.u64;
            if (tag == kWakeTag) {   // stop() or admin(): both looked at below
                std::uint64_t v = 0;
                const ssize_t r = ::read(wake, &v, sizeof v);
                (void)r;
                continue;
            }
            if (tag == kObserveTag) continue;   // drained below, every turn
            const auto idx = static_cast<std::uint32_t>(tag);
            if (idx >= nslots) continue;
            Slot& s = slots[idx];
            if (s.phase == Phase::idle || s.gen != static_cast<std::uint32_t>(tag >> 32)) continue;   // stale
            on_io(s, events[e].events);
        }
        const std::uint64_t now = core::monotonic_ms();
        serve_admin();
        drain_observer(now);
        wheel->advance(now, [this, now](core::TimerNode* node) { on_timer(node, now); });
    }
    // Abandon whatever is in flight: no verdict, no state change.
    for (Slot& s : span()) {
        if (s.phase != Phase::idle) close_fd(s);
        s.phase = Phase::idle;
        wheel->cancel(s);
    }
    for (std::size_t i = 0; i < nramps; ++i) wheel->cancel(ramps[i]);
}

void Checker::Impl::on_timer(core::TimerNode* node, std::uint64_t now) noexcept {
    if (nramps > 0 && node >= &ramps[0] && node < &ramps[0] + nramps) {
        on_ramp(*static_cast<RampNode*>(node), now);
        return;
    }
    Slot& s = *static_cast<Slot*>(node);
    switch (s.phase) {
    case Phase::idle:
        start_check(s, now);
        return;
    case Phase::connecting:
        finish(s, CheckStatus::l4tout, 0, {});
        return;
    case Phase::handshaking:
        finish(s, CheckStatus::l6tout, 0, {});
        return;
    case Phase::sending:
    case Phase::receiving:
        finish(s, CheckStatus::l7tout, 0, {});
        return;
    }
}

void Checker::Impl::start_check(Slot& s, std::uint64_t now) noexcept {
    const ServerState& st = s.backend->server(s.server_index);
    // HAProxy pauses the checks of a server in maintenance; `disable health` stops them.
    if (st.admin() == Admin::maint || !st.checks_enabled()) {
        schedule_next(s, now);
        return;
    }
    ++s.gen;
    s.start_ns = now_ns();
    s.start_ms = now;
    s.sent = 0;
    s.rx_len = 0;
    s.registered = false;
    s.fd = ::socket(s.target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
        s.phase = Phase::connecting;   // so finish() has a check to end
        finish(s, CheckStatus::sockerr, 0, errno_text(errno));
        return;
    }
    if (!s.target.is_unix()) {
        const int one = 1;
        setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    s.phase = Phase::connecting;
    if (::connect(s.fd, s.target.sa(), s.target.len) == 0) {
        wheel->arm(s, now + static_cast<std::uint64_t>(s.connect_bound));
        on_connected(s);
        return;
    }
    if (errno != EINPROGRESS) {
        finish(s, CheckStatus::l4con, 0, errno_text(errno));
        return;
    }
    if (!watch(s, EPOLLOUT)) return;
    wheel->arm(s, now + static_cast<std::uint64_t>(s.connect_bound));
}

bool Checker::Impl::watch(Slot& s, std::uint32_t events) noexcept {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = pack(static_cast<std::uint32_t>(&s - slots.get()), s.gen);
    if (epoll_ctl(ep, s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ev) != 0) {
        finish(s, CheckStatus::sockerr, 0, errno_text(errno));
        return false;
    }
    s.registered = true;
    return true;
}

void Checker::Impl::on_io(Slot& s, std::uint32_t events) noexcept {
    switch (s.phase) {
    case Phase::idle:
        return;
    case Phase::connecting: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
            finish(s, CheckStatus::l4con, 0, errno_text(err));
        } else if (events & EPOLLOUT) {
            on_connected(s);
        } else if (events & (EPOLLERR | EPOLLHUP)) {
            finish(s, CheckStatus::l4con, 0, {});
        }
        return;
    }
    case Phase::handshaking:
        do_handshake(s);
        return;
    case Phase::sending:
        do_send(s);
        return;
    case Phase::receiving:
        do_recv(s);
        return;
    }
}

void Checker::Impl::on_connected(Slot& s) noexcept {
    if (!s.http && !s.tls) {
        finish(s, CheckStatus::l4ok, 0, {});
        return;
    }
    // "timeout check" is an additional read timeout once connected; without it, inter (armed
    // at the start) still bounds the whole check. It covers the TLS handshake too (L6TOUT).
    if (s.check_timeout != conf::kUnset)
        wheel->arm(s, core::monotonic_ms() + static_cast<std::uint64_t>(s.check_timeout));
    else
        wheel->arm(s, s.start_ms + static_cast<std::uint64_t>(s.server->opt.inter));
    if (s.tls) {
        s.ssl = s.tls->start(s.fd);
        if (s.ssl == nullptr) {
            finish(s, CheckStatus::sockerr, 0, "out of memory");
            return;
        }
        s.phase = Phase::handshaking;
        do_handshake(s);
        return;
    }
    s.phase = Phase::sending;
    do_send(s);
}

bool Checker::Impl::tls_wait(Slot& s, int ssl_error) noexcept {
    // watch() ends the check itself when epoll refuses: handled either way.
    if (ssl_error == SSL_ERROR_WANT_READ) watch(s, EPOLLIN | EPOLLRDHUP);
    else if (ssl_error == SSL_ERROR_WANT_WRITE) watch(s, EPOLLOUT);
    else return false;
    return true;
}

void Checker::Impl::do_handshake(Slot& s) noexcept {
    const int rc = SSL_do_handshake(s.ssl);
    if (rc == 1) {
        s.tls->keep_session(s.ssl);
        if (!s.http) {
            finish(s, CheckStatus::l6ok, 0, {});
            return;
        }
        s.phase = Phase::sending;
        do_send(s);
        return;
    }
    const int err = SSL_get_error(s.ssl, rc);
    if (tls_wait(s, err)) return;
    s.tls->forget_session();
    const std::string why = check_tls_error(s.ssl, err);
    finish(s, CheckStatus::l6rsp, 0, why);
}

void Checker::Impl::do_send(Slot& s) noexcept {
    const std::string_view req = s.http->request();
    while (s.ssl != nullptr && s.sent < req.size()) {
        const int n = SSL_write(s.ssl, req.data() + s.sent, static_cast<int>(req.size() - s.sent));
        if (n > 0) {
            s.sent += static_cast<std::size_t>(n);
            continue;
        }
        const int err = SSL_get_error(s.ssl, n);
        if (tls_wait(s, err)) return;
        const std::string why = check_tls_error(s.ssl, err);
        finish(s, CheckStatus::sockerr, 0, why);
        return;
    }
    while (s.sent < req.size()) {
        const ssize_t n = ::send(s.fd, req.data() + s.sent, req.size() - s.sent, MSG_NOSIGNAL);
        if (n > 0) {
            s.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(s, EPOLLOUT);
            return;
        }
        // An I/O error after the connection was established (chk_report_conn_err()).
        finish(s, CheckStatus::sockerr, 0, n < 0 ? errno_text(errno) : std::string_view{});
        return;
    }
    s.phase = Phase::receiving;
    if (watch(s, EPOLLIN | EPOLLRDHUP)) do_recv(s);
}

void Checker::Impl::do_recv(Slot& s) noexcept {
    bool eof = false;
    int err = 0;
    while (s.ssl != nullptr && s.rx_len < s.rx_cap) {
        const int n = SSL_read(s.ssl, s.rx + s.rx_len, static_cast<int>(s.rx_cap - s.rx_len));
        if (n > 0) {
            s.rx_len += static_cast<std::size_t>(n);
            continue;
        }
        const int e = SSL_get_error(s.ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN) eof = true;
        else if (e == SSL_ERROR_WANT_WRITE) watch(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
        else if (e != SSL_ERROR_WANT_READ) err = e == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPROTO;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ERR_clear_error();
        break;
    }
    while (s.ssl == nullptr && s.rx_len < s.rx_cap) {
        const ssize_t n = ::recv(s.fd, s.rx + s.rx_len, s.rx_cap - s.rx_len, 0);
        if (n > 0) {
            s.rx_len += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
        break;
    }
    // A network error counts only if nothing arrived (tcpcheck_eval_recv(): an RST right after
    // the last data is common and the answer is judged as it is).
    if (err != 0 && s.rx_len == 0) {
        finish(s, CheckStatus::sockerr, 0, errno_text(err));
        return;
    }
    const bool last = eof || err != 0 || s.rx_len == s.rx_cap;
    const HttpVerdict v = s.http->judge({s.rx, s.rx_len}, last);
    if (v.done) finish(s, v.status, v.code, v.desc);
}

void Checker::Impl::close_fd(Slot& s) noexcept {
    if (s.ssl != nullptr) {   // no close_notify: the reset below ends the connection anyway
        SSL_free(s.ssl);
        s.ssl = nullptr;
        ERR_clear_error();
    }
    if (s.fd < 0) return;
    // Reset rather than FIN (HAProxy's default for checks): no TIME_WAIT left behind.
    const linger lg{1, 0};
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(s.fd);   // also leaves the epoll set
    s.fd = -1;
    s.registered = false;
}

void Checker::Impl::finish(Slot& s, CheckStatus status, int code, std::string_view desc) noexcept {
    const std::uint64_t end_ns = now_ns();
    const std::uint64_t now = core::monotonic_ms();
    close_fd(s);
    s.phase = Phase::idle;
    if (desc.size() > kCheckDescMax) desc = desc.substr(0, kCheckDescMax);
    const CheckReport rep{status, code, static_cast<std::int64_t>((end_ns - s.start_ns) / 1000000u), desc};
    s.stats.record(status, code, rep.duration_ms, desc);
    const ServerState& st = s.backend->server(s.server_index);
    // Put in maintenance or checks disabled while the check ran: no verdict.
    if (st.admin() == Admin::maint || !st.checks_enabled())
        s.last_status = status;
    else
        apply_verdict(s, rep);
    s.force_fast = false;   // the check observe asked for has run
    schedule_next(s, now);
}

void Checker::Impl::schedule_next(Slot& s, std::uint64_t now) noexcept {
    const ServerState& st = s.backend->server(s.server_index);
    const conf::Millis g =
        check_interval(s.server->opt, st.health_counter(), st.health() == Health::down, s.force_fast);
    conf::Millis next = g + jitter(g);
    if (next < 1) next = 1;
    wheel->arm(s, now + static_cast<std::uint64_t>(next));
}

// HAProxy wakes the check task, which advances its timer to now + srv_getinter() if that is
// sooner (process_chk_conn(), "health-check was advanced"); a running check is left alone.
void Checker::Impl::hasten(Slot& s, std::uint64_t now) noexcept {
    if (s.phase != Phase::idle) return;
    const ServerState& st = s.backend->server(s.server_index);
    const conf::Millis g =
        check_interval(s.server->opt, st.health_counter(), st.health() == Health::down, s.force_fast);
    const std::uint64_t due = now + static_cast<std::uint64_t>(std::max<conf::Millis>(g, 1));
    if (!s.armed() || due < s.deadline) wheel->arm(s, due);
}

Checker::Checker(std::shared_ptr<const conf::Snapshot> snap, ServerStateTable& table)
    : Checker(std::move(snap), table, Options{}) {}

Checker::Checker(std::shared_ptr<const conf::Snapshot> snap, ServerStateTable& table, Options opt)
    : impl_(std::make_unique<Impl>(std::move(snap), table, std::move(opt))) {
    impl_->rng = impl_->opt.seed != 0 ? impl_->opt.seed : (now_ns() | 1u);
    impl_->build();
}

Checker::~Checker() { stop(); }

void Checker::start() {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.admin_mutex);
    if (m.thread.joinable()) return;
    // Nothing to check, ramp or observe: no thread; admin() then applies on its caller.
    if (m.nslots == 0 && m.nramps == 0 && m.opt.observer == nullptr) return;
    m.ep = epoll_create1(EPOLL_CLOEXEC);
    m.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    bool ok = m.ep >= 0 && m.wake >= 0 && epoll_ctl(m.ep, EPOLL_CTL_ADD, m.wake, &ev) == 0;
    if (ok && m.opt.observer != nullptr) {
        epoll_event oev{};
        oev.events = EPOLLIN;
        oev.data.u64 = kObserveTag;
        ok = epoll_ctl(m.ep, EPOLL_CTL_ADD, m.opt.observer->event_fd(), &oev) == 0;
    }
    if (!ok) {
        SKJOLD_LOG(alert, "health checks not started: {}", errno_text(errno));
        if (m.ep >= 0) ::close(m.ep);
        if (m.wake >= 0) ::close(m.wake);
        m.ep = m.wake = -1;
        return;
    }
    m.stopping.store(false, std::memory_order_relaxed);
    const std::uint64_t now = core::monotonic_ms();
    m.schedule_first(now);
    m.arm_ramps_at_start(now);
    try {
        m.thread = std::thread([&m] { m.run(); });
        pthread_setname_np(m.thread.native_handle(), "skjold-checks");
        m.running = true;
    } catch (const std::exception& e) {
        SKJOLD_LOG(alert, "health checks not started: {}", e.what());
        for (Slot& s : m.span()) m.wheel->cancel(s);
        for (std::size_t i = 0; i < m.nramps; ++i) m.wheel->cancel(m.ramps[i]);
        ::close(m.ep);
        ::close(m.wake);
        m.ep = m.wake = -1;
    }
}

void Checker::stop() {
    Impl& m = *impl_;
    // Holding admin_mutex: no admin() is waiting on the thread while it stops, and later ones
    // apply on their own thread.
    std::lock_guard<std::mutex> lock(m.admin_mutex);
    if (!m.thread.joinable()) return;
    m.stopping.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    ssize_t w = ::write(m.wake, &one, sizeof one);
    (void)w;
    m.thread.join();
    m.running = false;
    ::close(m.ep);
    ::close(m.wake);
    m.ep = m.wake = -1;
}

core::Result<void> Checker::admin(const AdminCommand& cmd) {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.admin_mutex);
    if (!m.running) return m.apply_admin(cmd, core::monotonic_ms());
    m.admin_cmd = &cmd;
    m.admin_state.store(1, std::memory_order_release);
    const std::uint64_t one = 1;
    ssize_t w = ::write(m.wake, &one, sizeof one);
    (void)w;
    for (int v = m.admin_state.load(std::memory_order_acquire); v != 2; v = m.admin_state.load(std::memory_order_acquire))
        m.admin_state.wait(v, std::memory_order_acquire);
    m.admin_state.store(0, std::memory_order_relaxed);
    m.admin_cmd = nullptr;
    return std::move(m.admin_result);
}

int Checker::checked_servers() const noexcept { return static_cast<int>(impl_->nslots); }

const CheckStats* Checker::stats(int proxy_index, int server_index) const noexcept {
    const Slot* s = impl_->slot(proxy_index, server_index);
    return s ? &s->stats : nullptr;
}

}  // namespace skjold::health
