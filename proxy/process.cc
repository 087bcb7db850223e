#include "proxy/process.hh"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <malloc.h>
#include <pwd.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "core/log.hh"
#include "core/sd_notify.hh"
#include "core/worker.hh"
#include "health/checker.hh"
#include "proxy/listener.hh"
#include "proxy/log_sink.hh"
#include "proxy/shared.hh"
#include "proxy/stats_server.hh"
#include "proxy/generation.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_runtime.hh"
#include "proxy/worker_host.hh"
#include "proxy/worker_runtime.hh"
#include "conf/loader.hh"

namespace skjold::proxy {

namespace {

const char* feature_text(std::string_view f) noexcept {
    if (f == "http") return "HTTP mode";
    if (f == "tls") return "TLS";
    if (f == "health") return "health checking";
    if (f == "stats") return "the stats socket";
    if (f == "log") return "logging to targets";
    if (f == "geoip") return "GeoIP lookups";
    if (f == "proxy-protocol") return "the PROXY protocol";
    if (f == "process") return "daemon mode and privilege changes";
    if (f == "observe") return "passive health observation (observe/error-limit/on-error)";
    if (f == "slowstart") return "slowstart weight ramping";
    return "this feature";
}

// HAProxy derives the default maxconn from the descriptor limit; a tcp session needs two.
int default_maxconn() noexcept {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 4096;
    long n = (static_cast<long>(rl.rlim_cur) - 64) / 2;
    return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

bool feature_available(std::string_view f) noexcept { return f == "tls" || f == "process" || f == "health" || f == "proxy-protocol" || f == "stats" || f == "log" || f == "http" || f == "slowstart" || f == "observe"; }

namespace {

// `ulimit-n`: before any descriptor is opened.
bool set_limits(const conf::Global& g) {
    if (g.ulimit_n > 0) {
        rlimit rl{static_cast<rlim_t>(g.ulimit_n), static_cast<rlim_t>(g.ulimit_n)};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            SKJOLD_LOG(alert, "{}: ulimit-n {}: {}", g.loc.str(), g.ulimit_n, std::strerror(errno));
            return false;
        }
    }
    return true;
}

// `daemon` once the listeners are bound (so a bind error still reaches the terminal and the
// exit status), then `pidfile` with the final pid. No thread exists yet.
bool daemonize_and_write_pid(const conf::Global& g) {
    if (g.daemon) {
        pid_t pid = fork();
        if (pid < 0) {
            SKJOLD_LOG(alert, "daemon: fork: {}", std::strerror(errno));
            return false;
        }
        if (pid > 0) _exit(0);   // the parent returns to the shell, as HAProxy's daemon mode
        setsid();
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
    }
    if (!g.pidfile.empty()) {
        std::FILE* f = std::fopen(g.pidfile.c_str(), "w");
        if (f == nullptr) {
            SKJOLD_LOG(alert, "pidfile {}: {}", g.pidfile, std::strerror(errno));
            return false;
        }
        std::fprintf(f, "%d\n", static_cast<int>(getpid()));
        std::fclose(f);
    }
    return true;
}

// `chroot`, `group`, `user`: after the listeners are bound (ports below 1024 need root),
// before any worker thread runs, so every thread has the reduced rights (capabilities are per
// thread: threads created later copy the main thread's).
//
// Switching to `user` from root keeps one capability, CAP_NET_BIND_SERVICE (effective,
// permitted and bounding sets), so that a reload can bind a new port below 1024; every other
// capability is dropped, the ambient set is cleared and no capability survives an exec. Raw
// prctl/capset calls: libcap is not a dependency for this.
bool drop_privileges(const conf::Global& g) {
    gid_t gid = 0;
    uid_t uid = 0;
    bool set_gid = false, set_uid = false;
    if (!g.group.empty()) {
        group* gr = getgrnam(g.group.c_str());
        if (gr == nullptr) {
            SKJOLD_LOG(alert, "group '{}' does not exist", g.group);
            return false;
        }
        gid = gr->gr_gid;
        set_gid = true;
    }
    if (!g.user.empty()) {
        passwd* pw = getpwnam(g.user.c_str());
        if (pw == nullptr) {
            SKJOLD_LOG(alert, "user '{}' does not exist", g.user);
            return false;
        }
        uid = pw->pw_uid;
        if (!set_gid) {
            gid = pw->pw_gid;
            set_gid = true;
        }
        set_uid = true;
    }
    if (!g.chroot.empty() && (chroot(g.chroot.c_str()) != 0 || chdir("/") != 0)) {
        SKJOLD_LOG(alert, "chroot {}: {}", g.chroot, std::strerror(errno));
        return false;
    }
    // Keeping a capability only makes sense when root gives up its uid.
    const bool keep_bind = set_uid && geteuid() == 0 && uid != 0;
    if (keep_bind) {
        // Bounding set: everything but CAP_NET_BIND_SERVICE (needs CAP_SETPCAP: still root).
        for (int cap = 0; cap <= 63; ++cap) {
            if (cap == CAP_NET_BIND_SERVICE) continue;
            if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;   // past the kernel's last capability
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
                SKJOLD_LOG(alert, "user {}: dropping capability {}: {}", g.user, cap, std::strerror(errno));
                return false;
            }
        }
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);   // EINVAL before Linux 4.3: none then
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
            SKJOLD_LOG(alert, "user {}: PR_SET_KEEPCAPS: {}", g.user, std::strerror(errno));
            return false;
        }
    }
    if (set_gid && (setgroups(0, nullptr) != 0 || setgid(gid) != 0)) {
        SKJOLD_LOG(alert, "group {}: {}", g.group, std::strerror(errno));
        return false;
    }
    if (set_uid && setuid(uid) != 0) {
        SKJOLD_LOG(alert, "user {}: {}", g.user, std::strerror(errno));
        return false;
    }
    if (keep_bind) {
        // setuid() kept the permitted set (KEEPCAPS) and cleared the effective one: leave only
        // CAP_NET_BIND_SERVICE in both, nothing inheritable.
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        data[CAP_TO_INDEX(CAP_NET_BIND_SERVICE)].effective = CAP_TO_MASK(CAP_NET_BIND_SERVICE);
        data[CAP_TO_INDEX(CAP_NET_BIND_SERVICE)].permitted = CAP_TO_MASK(CAP_NET_BIND_SERVICE);
        if (syscall(SYS_capset, &hdr, data) != 0) {
            SKJOLD_LOG(alert, "user {}: keeping CAP_NET_BIND_SERVICE: {}", g.user, std::strerror(errno));
            return false;
        }
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    }
    return true;
}

}  // namespace

std::vector<std::string> unavailable_features(const conf::Snapshot& snap) {
    // Every use up to a few per feature, then a count: a config with a thousand `check`
    // servers should not print a thousand lines.
    constexpr int kShownPerFeature = 5;
    std::vector<std::string> out;
    std::vector<std::pair<std::string, int>> seen;
    for (const auto& u : snap.feature_uses) {
        if (feature_available(u.feature)) continue;
        auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.first == u.feature; });
        if (it == seen.end()) it = seen.insert(seen.end(), {u.feature, 0});
        if (++it->second <= kShownPerFeature)
            out.push_back(u.loc.str() + ": '" + u.keyword + "': " + feature_text(u.feature) +
                          " is not available yet in this build of skjold");
    }
    for (const auto& [feature, n] : seen)
        if (n > kShownPerFeature)
            out.push_back("... and " + std::to_string(n - kShownPerFeature) + " more use(s) of " + feature_text(feature));
    return out;
}

std::unique_ptr<WorkerStats> make_worker_stats(const conf::Snapshot& snap) {
    auto ws = std::make_unique<WorkerStats>();
    ws->proxies = std::make_unique<ProxyCounters[]>(snap.proxies.size());
    for (const auto& px : snap.proxies) ws->servers.push_back(std::make_unique<ServerCounters[]>(px.servers.size()));
    return ws;
}

void apply_command_line(conf::Global& g, const RunOptions& opt) {
    if (opt.daemon) g.daemon = true;
    if (!opt.pidfile.empty()) g.pidfile = opt.pidfile;
}

conf::LoadResult load_configuration(std::span<const std::string> files) {
    auto loaded = conf::load_files(files);
    // Certificates and keys are read and checked here too, so `-c` gives the verdict a start
    // (or a reload) would: a broken PEM is named with the FILE:LINE of its bind/server line.
    if (loaded.errors.empty() && loaded.snapshot) {
        auto tls = load_tls_config(*loaded.snapshot);
        for (auto& e : tls.errors) loaded.errors.push_back(std::move(e));
    }
    return loaded;
}

namespace {

// The control thread's view of the running process: the worker threads, the generations
// (the current one and those still finishing sessions) and the reload that replaces one.
class Control {
public:
    Control(const RunOptions& opt, unsigned nworkers, int global_maxconn, int sfd)
        : opt_(opt), nworkers_(nworkers), global_maxconn_(global_maxconn), sfd_(sfd) {}

    int run(std::shared_ptr<const conf::Snapshot> snap);

private:
    bool start_workers(const std::vector<int>& cpus);
    void reload();
    void reap();
    void stop_all_workers(MsgKind kind);
    void write_ready(const Generation& g);

    const RunOptions& opt_;
    unsigned nworkers_;
    int global_maxconn_;
    int sfd_;
    std::vector<std::unique_ptr<LogRing>> rings_;
    std::vector<std::unique_ptr<WorkerHost>> hosts_;
    std::vector<std::thread> threads_;
    std::unique_ptr<Generation> cur_;
    std::vector<std::unique_ptr<Generation>> retiring_;   // sessions still running on these
    std::unique_ptr<LogDrain> logs_;
    std::unique_ptr<StatsServer> stats_;
    std::shared_ptr<TlsShared> tls_shared_;             // TLSFRONT: ticket keys + session cache, process-lived
    std::unique_ptr<TlsKeyRotation> tls_rotation_;      // TLSFRONT
    unsigned next_id_ = 2;
    bool reload_pending_ = false;
};

void Control::stop_all_workers(MsgKind kind) {
    for (auto& h : hosts_) h->mailbox().post({kind, 0, nullptr});
}

void Control::write_ready(const Generation& g) {
    if (opt_.ready_file.empty()) return;
    if (auto r = write_ready_file(opt_.ready_file, *g.sh.snap, g.listeners); !r)
        SKJOLD_LOG(err, "{}", core::describe(r.error()));
}

bool Control::start_workers(const std::vector<int>& cpus) {
    for (unsigned w = 0; w < nworkers_; ++w)
        hosts_.push_back(std::make_unique<WorkerHost>(w, cur_->sh.snap->global.bufsize));
    for (unsigned w = 0; w < nworkers_; ++w) {
        int cpu = nworkers_ <= cpus.size() ? cpus[w] : cpus[w % cpus.size()];
        WorkerRuntime* rt = cur_->runtimes[w].get();
        threads_.emplace_back([this, w, cpu, rt] { hosts_[w]->thread_main(cpu, rt); });
    }
    // Wait until every worker has its ring and has armed its accepts (or one failed).
    for (;;) {
        bool any_failed = false, all_up = true;
        for (const auto& h : hosts_) {
            if (h->phase() == WorkerHost::Phase::failed) any_failed = true;
            if (h->phase() != WorkerHost::Phase::running) all_up = false;
        }
        if (any_failed) {
            for (const auto& h : hosts_)
                if (h->phase() == WorkerHost::Phase::failed) SKJOLD_LOG(alert, "worker: {}", h->failure());
            stop_all_workers(kMsgStop);
            for (auto& t : threads_) t.join();
            // Running workers closed their own TCP listeners; close those of failed ones.
            for (auto& l : cur_->listeners)
                for (unsigned w = 0; w < nworkers_; ++w)
                    if ((l.addr.is_unix() && w == 0) ||
                        (!l.addr.is_unix() && hosts_[w]->phase() == WorkerHost::Phase::failed))
                        close(l.fds[w]);
            return false;
        }
        if (all_up) return true;
        usleep(1000);
    }
}

// SIGHUP (DESIGN.md "Reload"): the new files are read and checked here, off the data path; an
// invalid configuration changes nothing. A valid one becomes a new generation: listeners with
// the same address keep their sockets, server state carries over by name, each worker adopts
// its runtime between two completion batches, and the previous generation finishes its
// sessions on its own Snapshot.
void Control::reload() {
    if (retiring_.size() + 1 >= kMaxRuntimes) {
        // Every worker slot holds a generation still finishing sessions: adopt once one frees
        // (a SIGHUP storm is folded into one reload).
        if (!reload_pending_) SKJOLD_LOG(warning, "reload deferred: {} earlier configurations still finish their sessions", retiring_.size());
        reload_pending_ = true;
        return;
    }
    reload_pending_ = false;
    core::sd_notify_reloading();
    const std::uint64_t t0 = core::monotonic_ms();
    SKJOLD_LOG(notice, "SIGHUP: reloading the configuration");
    auto loaded = load_configuration(opt_.files);
    std::vector<std::string> errors;
    for (const auto& w : loaded.warnings) SKJOLD_LOG(warning, "{}", w.str());
    for (const auto& e : loaded.errors) errors.push_back(e.str());
    if (errors.empty() && loaded.snapshot) {
        for (auto& m : unavailable_features(*loaded.snapshot)) errors.push_back(std::move(m));
    }
    std::shared_ptr<TlsGeneration> tls_gen;   // TLSFRONT: certificates re-read; a broken PEM keeps the old ones
    if (errors.empty() && loaded.snapshot) {
        if (auto t = build_tls_for_run(*loaded.snapshot, *tls_shared_, nworkers_)) tls_gen = std::move(*t);
        else errors.push_back(core::describe(t.error()));
    }
    std::vector<ListenerSpec> listeners;
    if (errors.empty() && loaded.snapshot) {
        const auto& old = *cur_->sh.snap;
        const auto& neu = *loaded.snapshot;
        // What cannot change inside a running process (it would need a restart).
        if (neu.global.nbthread > 0 && static_cast<unsigned>(neu.global.nbthread) != nworkers_)
            errors.push_back(neu.global.loc.str() + ": 'nbthread' cannot change on reload (" +
                             std::to_string(nworkers_) + " worker threads run; restart to change it)");
        if (neu.global.bufsize != old.global.bufsize)
            errors.push_back(neu.global.loc.str() + ": 'tune.bufsize' cannot change on reload (restart to change it)");
        if (errors.empty()) {
            auto l = reuse_listeners(neu, nworkers_, cur_->listeners);
            if (!l) errors.push_back(core::describe(l.error()));
            else listeners = std::move(*l);
        }
    }
    if (!errors.empty() || !loaded.snapshot) {
        if (errors.empty()) errors.push_back("the configuration could not be read");
        for (const auto& e : errors) SKJOLD_LOG(alert, "{}", e);
        std::string summary = "failed (" + std::to_string(errors.size()) + " error" +
                              (errors.size() == 1 ? "" : "s") + "): " + errors.front();
        SKJOLD_LOG(alert, "reload {}; the running configuration (generation {}) is kept", summary, cur_->id);
        logs_->process_log(3, "reload " + summary + "; the running configuration is kept");
        stats_->note_reload(std::move(summary));
        core::sd_notify("READY=1");
        return;
    }

    // Server state is final once the old checker has stopped; the new table starts from it.
    cur_->checker->stop();
    auto next = make_generation(next_id_++, loaded.snapshot, nworkers_, global_maxconn_, std::move(listeners),
                                rings_, cur_.get());
    next->sh.tls = std::move(tls_gen);   // TLSFRONT
    // TLSBACK: `server ... ssl` contexts by (backend, server), over sh.tls (cannot fail then).
    if (auto r = build_server_tls(next->sh); !r) SKJOLD_LOG(alert, "{}", core::describe(r.error()));
    start_checker(*next, *logs_);
    for (unsigned w = 0; w < nworkers_; ++w)
        hosts_[w]->mailbox().post({kMsgAdopt, 0, next->runtimes[w].get()});
    // Bounded wait: a worker adopts between two completion batches (milliseconds).
    const std::uint64_t deadline = core::monotonic_ms() + 5000;
    while (!next->attached() && core::monotonic_ms() < deadline) usleep(500);

    int kept = 0, added = 0;
    for (const auto& l : next->listeners) {
        bool reused = false;
        for (const auto& o : cur_->listeners)
            if (!o.fds.empty() && o.fds.front() == l.fds.front()) reused = true;
        (reused ? kept : added)++;
    }
    const int removed = static_cast<int>(cur_->listeners.size()) - kept;
    logs_->adopt(next->sh.snap, next->id);
    stats_->adopt(stats_source(*next, *logs_));
    retiring_.push_back(std::move(cur_));
    cur_ = std::move(next);
    write_ready(*cur_);
    std::string summary = "ok: generation " + std::to_string(cur_->id) + ", " + std::to_string(kept) +
                          " listener(s) kept, " + std::to_string(added) + " added, " + std::to_string(removed) +
                          " removed, in " + std::to_string(core::monotonic_ms() - t0) + " ms";
    SKJOLD_LOG(notice, "reload {}", summary);
    logs_->process_log(5, "reload " + summary);
    stats_->note_reload(std::move(summary));
    core::sd_notify("READY=1");
}

// Frees the generations whose last session has ended on every worker.
void Control::reap() {
    bool freed = false;
    for (auto it = retiring_.begin(); it != retiring_.end();) {
        Generation& g = **it;
        if (!g.detached()) {
            ++it;
            continue;
        }
        // TCP listeners not kept were closed by their workers; a shared unix socket is ours.
        for (auto& l : g.listeners) {
            if (!l.addr.is_unix() || l.fds.empty()) continue;
            bool kept = false;
            for (const auto& n : cur_->listeners)
                if (!n.fds.empty() && n.fds.front() == l.fds.front()) kept = true;
            for (const auto& r : retiring_)
                if (r.get() != &g)
                    for (const auto& n : r->listeners)
                        if (!n.fds.empty() && n.fds.front() == l.fds.front()) kept = true;
            if (!kept) close(l.fds.front());
        }
        SKJOLD_LOG(info, "configuration generation {} finished its last session", g.id);
        logs_->forget(g.id);   // its last access-log lines go to its own targets first
        it = retiring_.erase(it);
        freed = true;
    }
    // Hand what the freed generation held back to the kernel (its Snapshot and TLS contexts in
    // this thread's heap; the workers' session slabs, pools and OpenSSL state in their arenas).
    // glibc keeps freed chunks in its arenas, and under load reload after reload leaves holes
    // that add up: in bench/soak.sh (a reload every 10 s) the arenas' resident memory grew by
    // 3-4 MB over the first minutes while the live heap stayed at 3.6 MB (heaptrack). Once per
    // freed generation, on this thread: 0.1-0.3 ms, during which a worker's malloc may wait
    // for its arena's lock.
    if (freed) malloc_trim(0);
}

int Control::run(std::shared_ptr<const conf::Snapshot> snap) {
    for (unsigned w = 0; w < nworkers_; ++w) rings_.push_back(make_log_ring(*snap));

    auto listeners = open_listeners(*snap, nworkers_);
    if (!listeners) {
        SKJOLD_LOG(alert, "{}", core::describe(listeners.error()));
        return 1;
    }
    // Stats sockets: bound before privileges are dropped, so their files get mode/user/group.
    auto stats = StatsServer::bind(snap->global);
    if (!stats) {
        SKJOLD_LOG(alert, "{}", core::describe(stats.error()));
        close_listeners(*listeners);
        return 1;
    }
    stats_ = std::move(*stats);
    const std::uint64_t start_ms = core::monotonic_ms();
    const std::int64_t start_wall_s = static_cast<std::int64_t>(time(nullptr));

    conf::Global process_global = snap->global;   // with -D / -p applied
    apply_command_line(process_global, opt_);
    if (!daemonize_and_write_pid(process_global) || !drop_privileges(snap->global)) {
        close_listeners(*listeners);
        return 1;
    }
    // A reload reads the files again from inside the chroot, as the user: say now, not at the
    // first SIGHUP, when what it needs is not there (skjold(8), PRIVILEGES).
    if (!snap->global.chroot.empty() || !snap->global.user.empty()) {
        auto again = load_configuration(opt_.files);
        if (!again.errors.empty() || !again.snapshot)
            SKJOLD_LOG(warning, "a reload would fail after chroot/user: {} (the configuration and the files it "
                                "names must be readable inside the chroot, at the same paths, by the user)",
                       again.errors.empty() ? std::string("the configuration cannot be read") : again.errors.front().str());
    }
    // Access logs: workers push into their rings; this thread sends them (the pid is final now).
    std::vector<LogRing*> rings;
    for (auto& r : rings_) rings.push_back(r.get());
    logs_ = std::make_unique<LogDrain>(snap, std::move(rings), LogIdentity::of_this_process());

    // TLSFRONT: the process's ticket keys and session cache, and this configuration's contexts.
    auto tls_shared = create_tls_shared(*snap);
    auto tls_gen = tls_shared ? build_tls_for_run(*snap, **tls_shared, nworkers_)
                              : core::Result<std::shared_ptr<TlsGeneration>>(core::Unexpected{tls_shared.error()});
    if (!tls_gen) {
        SKJOLD_LOG(alert, "{}", core::describe(tls_gen.error()));
        close_listeners(*listeners);
        return 1;
    }
    tls_shared_ = std::move(*tls_shared);
    tls_rotation_ = std::make_unique<TlsKeyRotation>(tls_shared_, snap->global.ssl_lifetime, core::monotonic_ms());
    cur_ = make_generation(1, snap, nworkers_, global_maxconn_, std::move(*listeners), rings_, nullptr);
    cur_->sh.tls = std::move(*tls_gen);   // TLSFRONT
    // TLSBACK: `server ... ssl` contexts by (backend, server), over sh.tls.
    if (auto r = build_server_tls(cur_->sh); !r) {
        SKJOLD_LOG(alert, "{}", core::describe(r.error()));
        return 1;
    }
    if (!start_workers(core::allowed_cpus())) return 1;
    write_ready(*cur_);
    SKJOLD_LOG(notice, "skjold {} started: {} worker(s), {} listener(s)", SKJOLD_VERSION, nworkers_,
               cur_->listeners.size());
    if (!core::sd_notify("READY=1")) SKJOLD_LOG(warning, "NOTIFY_SOCKET: could not send READY=1");
    logs_->log_proxies_started();

    // Active health checks run on a thread of their own; the checker is the only writer of
    // server health in the state table (the stats socket goes through it: Checker::admin).
    start_checker(*cur_, *logs_);
    // The stats sockets answer on a thread of their own (proxy/stats_server.hh).
    ProcessFacts facts;
    facts.start_ms = start_ms;
    facts.start_wall_s = start_wall_s;
    facts.listeners = static_cast<int>(cur_->listeners.size());
    stats_->start(stats_source(*cur_, *logs_), std::move(facts));

    // The control loop: signals, reloads, freeing finished generations and log draining.
    bool stopping = false;
    std::uint64_t hard_deadline = 0;
    bool hard_sent = false;
    const std::int64_t hard_stop_after = snap->global.hard_stop_after;
    for (;;) {
        reap();
        if (stopping) {
            bool done = true;
            for (const auto& h : hosts_)
                if (h->phase() != WorkerHost::Phase::done) done = false;
            if (done) break;
        }
        pollfd p{sfd_, POLLIN, 0};
        const bool busy = stopping || logs_->active() || !retiring_.empty() || reload_pending_;
        poll(&p, 1, busy ? LogDrain::kIntervalMs : 1000);
        logs_->drain();
        if (tls_rotation_) tls_rotation_->rotate_if_due(core::monotonic_ms());   // TLSFRONT
        signalfd_siginfo si{};
        bool hup = false;
        while (read(sfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                if (!stopping) {
                    SKJOLD_LOG(notice, "{}: stopping; sessions in flight may finish within {} ms",
                               si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", hard_stop_after);
                    stopping = true;
                    stats_->note_stopping();
                    core::sd_notify("STOPPING=1");
                    hard_deadline = core::monotonic_ms() + static_cast<std::uint64_t>(hard_stop_after >= 0 ? hard_stop_after : 0);
                    stop_all_workers(kMsgStop);
                }
            } else if (si.ssi_signo == SIGHUP) {
                hup = true;   // several queued SIGHUPs make one reload
            }
        }
        if (!stopping && (hup || reload_pending_)) reload();
        if (stopping && !hard_sent && core::monotonic_ms() >= hard_deadline) {
            SKJOLD_LOG(warning, "hard-stop-after reached: closing the remaining sessions");
            logs_->process_log(4, "hard-stop-after reached: closing the remaining sessions");
            hard_sent = true;
            stop_all_workers(kMsgHardStop);
        }
    }
    stats_->stop();   // before the checker: admin commands go through it
    if (cur_->checker) cur_->checker->stop();
    for (auto& t : threads_) t.join();
    logs_->drain();   // the workers' last lines, then HAProxy's "Proxy X stopped" lines
    logs_->log_proxies_stopped(cur_->sh.stats);
    // TCP listeners were closed by their workers; the shared unix ones are closed here.
    reap();
    for (auto& l : cur_->listeners)
        if (l.addr.is_unix() && !l.fds.empty()) {
            close(l.fds.front());
            l.fds.clear();
        }
    if (!process_global.pidfile.empty()) unlink(process_global.pidfile.c_str());
    SKJOLD_LOG(notice, "stopped");
    return 0;
}

}  // namespace

int run(std::shared_ptr<const conf::Snapshot> snap, const RunOptions& opt) {
    if (auto missing = unavailable_features(*snap); !missing.empty()) {
        for (const auto& m : missing) SKJOLD_LOG(err, "{}", m);
        SKJOLD_LOG(alert, "refusing to start: {} keyword(s) need features this build does not have yet "
                          "(`skjold -c` validates them)", missing.size());
        return 1;
    }
    if (!set_limits(snap->global)) return 1;

    // Signals go to the control thread only: block them before any worker thread exists.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        SKJOLD_LOG(alert, "signalfd: {}", std::strerror(errno));
        return 1;
    }
    std::vector<int> cpus = core::allowed_cpus();
    const unsigned nworkers = snap->global.nbthread > 0 ? static_cast<unsigned>(snap->global.nbthread)
                                                        : static_cast<unsigned>(cpus.size());
    const int global_maxconn = snap->global.maxconn > 0 ? snap->global.maxconn : default_maxconn();
    // A session needs two descriptors (client and server): with fewer, accepted clients take
    // the descriptors their server connections need (HAProxy warns the same way).
    if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                     static_cast<rlim_t>(global_maxconn) * 2 + 64 > rl.rlim_cur)
        SKJOLD_LOG(warning, "the descriptor limit ({}) is too low for maxconn {}: raise 'ulimit-n' to {} or more, "
                            "or lower maxconn", static_cast<unsigned long long>(rl.rlim_cur), global_maxconn,
                   global_maxconn * 2 + 64);
    int rc;
    {
        Control c(opt, nworkers, global_maxconn, sfd);
        rc = c.run(std::move(snap));
    }
    close(sfd);
    return rc;
}

}  // namespace skjold::proxy
