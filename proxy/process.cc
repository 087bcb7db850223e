#include "proxy/process.hh"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
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
#include "proxy/worker_runtime.hh"

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

bool all_in(const std::vector<std::unique_ptr<WorkerRuntime>>& ws, WorkerRuntime::Phase p) {
    for (const auto& w : ws)
        if (w->phase() != p) return false;
    return true;
}

}  // namespace

bool feature_available(std::string_view f) noexcept { return f == "process" || f == "health" || f == "proxy-protocol" || f == "stats" || f == "log" || f == "http" || f == "slowstart" || f == "observe"; }

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
// before any worker thread runs, so every thread has the reduced rights.
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
    if (set_gid && (setgroups(0, nullptr) != 0 || setgid(gid) != 0)) {
        SKJOLD_LOG(alert, "group {}: {}", g.group, std::strerror(errno));
        return false;
    }
    if (set_uid && setuid(uid) != 0) {
        SKJOLD_LOG(alert, "user {}: {}", g.user, std::strerror(errno));
        return false;
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

    Shared sh;
    sh.snap = snap;
    sh.state = std::make_unique<health::ServerStateTable>(*snap);
    std::vector<int> cpus = core::allowed_cpus();
    sh.nworkers = snap->global.nbthread > 0 ? static_cast<unsigned>(snap->global.nbthread)
                                            : static_cast<unsigned>(cpus.size());
    sh.observer = std::make_unique<health::Observer>(*snap, sh.nworkers);
    sh.global_maxconn = snap->global.maxconn > 0 ? snap->global.maxconn : default_maxconn();
    for (unsigned w = 0; w < sh.nworkers; ++w) sh.stats.push_back(make_worker_stats(*snap));
    for (unsigned w = 0; w < sh.nworkers; ++w) sh.log_rings.push_back(make_log_ring(*snap));

    auto listeners = open_listeners(*snap, sh.nworkers);
    if (!listeners) {
        SKJOLD_LOG(alert, "{}", core::describe(listeners.error()));
        close(sfd);
        return 1;
    }

    // Stats sockets: bound before privileges are dropped, so their files get mode/user/group.
    auto stats = StatsServer::bind(snap->global);
    if (!stats) {
        SKJOLD_LOG(alert, "{}", core::describe(stats.error()));
        close_listeners(*listeners);
        close(sfd);
        return 1;
    }
    const std::uint64_t start_ms = core::monotonic_ms();
    const std::int64_t start_wall_s = static_cast<std::int64_t>(time(nullptr));

    conf::Global process_global = snap->global;   // with -D / -p applied
    apply_command_line(process_global, opt);
    if (!daemonize_and_write_pid(process_global) || !drop_privileges(snap->global)) {
        close_listeners(*listeners);
        close(sfd);
        return 1;
    }
    // Access logs: workers push into their rings; this thread sends them (the pid is final now).
    std::vector<LogRing*> rings;
    for (auto& r : sh.log_rings) rings.push_back(r.get());
    LogDrain logs(snap, std::move(rings), LogIdentity::of_this_process());

    std::vector<std::unique_ptr<WorkerRuntime>> workers;
    for (unsigned w = 0; w < sh.nworkers; ++w) {
        std::vector<WorkerRuntime::ListenerFd> lf;
        for (const auto& l : *listeners)
            lf.push_back({l.fds[w], l.proxy, !l.addr.is_unix(),
                          snap->proxies[l.proxy].binds[l.bind].accept_proxy});
        workers.push_back(std::make_unique<WorkerRuntime>(sh, w, std::move(lf)));
        workers.back()->set_log_ring(sh.log_rings[w].get());
    }
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < sh.nworkers; ++w) {
        int cpu = sh.nworkers <= cpus.size() ? cpus[w] : cpus[w % cpus.size()];
        threads.emplace_back([&workers, w, cpu] { workers[w]->thread_main(cpu); });
    }
    // Wait until every worker has its ring and has armed its accepts (or one failed).
    for (;;) {
        bool any_failed = false, all_up = true;
        for (const auto& w : workers) {
            if (w->phase() == WorkerRuntime::Phase::failed) any_failed = true;
            if (w->phase() != WorkerRuntime::Phase::running) all_up = false;
        }
        if (any_failed) {
            for (const auto& w : workers)
                if (w->phase() == WorkerRuntime::Phase::failed) SKJOLD_LOG(alert, "worker: {}", w->failure());
            for (auto& w : workers) w->mailbox().post({kMsgStop, 0, nullptr});
            for (auto& t : threads) t.join();
            // Running workers closed their own TCP listeners; close those of failed ones.
            for (auto& l : *listeners)
                for (unsigned w = 0; w < sh.nworkers; ++w)
                    if ((l.addr.is_unix() && w == 0) ||
                        (!l.addr.is_unix() && workers[w]->phase() == WorkerRuntime::Phase::failed))
                        close(l.fds[w]);
            close(sfd);
            return 1;
        }
        if (all_up) break;
        usleep(1000);
    }
    if (!opt.ready_file.empty()) {
        if (auto r = write_ready_file(opt.ready_file, *snap, *listeners); !r)
            SKJOLD_LOG(err, "{}", core::describe(r.error()));
    }
    SKJOLD_LOG(notice, "skjold {} started: {} worker(s), {} listener(s)", SKJOLD_VERSION, sh.nworkers,
               listeners->size());
    if (!core::sd_notify("READY=1")) SKJOLD_LOG(warning, "NOTIFY_SOCKET: could not send READY=1");
    logs.log_proxies_started();

    // Active health checks run on a thread of their own; the checker is the only writer of
    // server health in the state table (the stats socket goes through it: Checker::admin).
    health::Checker::Options copt;
    copt.current_sessions = [&sh](int px, int srv) {
        std::uint64_t n = 0;
        for (const auto& ws : sh.stats) n += ws->servers[static_cast<std::size_t>(px)][srv].cur_conn.read();
        return n;
    };
    copt.observer = sh.observer.get();
    health::Checker checker(snap, *sh.state, std::move(copt));
    checker.start();

    // The stats sockets answer on a thread of their own (proxy/stats_server.hh); server state
    // changes go through the checker, its only writer.
    StatsSource stats_src;
    stats_src.snap = snap;
    stats_src.state = sh.state.get();
    stats_src.workers = &sh.stats;
    stats_src.check_stats = [&checker](int px, int srv) { return checker.stats(px, srv); };
    stats_src.admin = [&checker](const health::AdminCommand& c) { return checker.admin(c); };
    stats_src.dropped_logs = [&logs] { return logs.dropped(); };
    stats_src.nworkers = sh.nworkers;
    stats_src.global_maxconn = sh.global_maxconn;
    ProcessFacts facts;
    facts.start_ms = start_ms;
    facts.start_wall_s = start_wall_s;
    facts.listeners = static_cast<int>(listeners->size());
    (*stats)->start(std::move(stats_src), std::move(facts));

    // The control loop: signals and log draining (the stats sockets have their own thread).
    bool stopping = false;
    std::uint64_t hard_deadline = 0;
    bool hard_sent = false;
    for (;;) {
        if (stopping && all_in(workers, WorkerRuntime::Phase::done)) break;
        pollfd p{sfd, POLLIN, 0};
        poll(&p, 1, stopping || logs.active() ? LogDrain::kIntervalMs : 1000);
        logs.drain();
        signalfd_siginfo si{};
        while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                if (!stopping) {
                    SKJOLD_LOG(notice, "{}: stopping; sessions in flight may finish within {} ms",
                               si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", snap->global.hard_stop_after);
                    stopping = true;
                    (*stats)->note_stopping();
                    core::sd_notify("STOPPING=1");
                    hard_deadline = core::monotonic_ms() + static_cast<std::uint64_t>(
                                                               snap->global.hard_stop_after >= 0 ? snap->global.hard_stop_after : 0);
                    for (auto& w : workers) w->mailbox().post({kMsgStop, 0, nullptr});
                }
            } else if (si.ssi_signo == SIGHUP) {
                SKJOLD_LOG(warning, "SIGHUP: configuration reload is not available yet in this build; "
                                    "the running configuration is kept");
            }
        }
        if (stopping && !hard_sent && core::monotonic_ms() >= hard_deadline) {
            SKJOLD_LOG(warning, "hard-stop-after reached: closing the remaining sessions");
            logs.process_log(4, "hard-stop-after reached: closing the remaining sessions");
            hard_sent = true;
            for (auto& w : workers) w->mailbox().post({kMsgHardStop, 0, nullptr});
        }
    }
    (*stats)->stop();   // before the checker: admin commands go through it
    checker.stop();
    for (auto& t : threads) t.join();
    logs.drain();   // the workers' last lines, then HAProxy's "Proxy X stopped" lines
    logs.log_proxies_stopped(sh.stats);
    // TCP listeners were closed by their workers; the shared unix ones are closed here.
    for (auto& l : *listeners)
        if (l.addr.is_unix() && !l.fds.empty()) {
            close(l.fds.front());
            l.fds.clear();
        }
    close(sfd);
    if (!process_global.pidfile.empty()) unlink(process_global.pidfile.c_str());
    SKJOLD_LOG(notice, "stopped");
    return 0;
}

}  // namespace skjold::proxy
