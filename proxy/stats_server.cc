#include "proxy/stats_server.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.hh"
#include "core/worker.hh"

namespace skjold::proxy {

namespace {

// HAProxy refuses a command line longer than its buffer (tune.bufsize, 16 KB by default).
constexpr std::size_t kMaxLine = 16384;
constexpr int kBacklog = 16;
constexpr std::uint64_t kTickMs = 1000;
// Connections served at once over all stats sockets; more are closed at accept (HAProxy's CLI
// listeners have a maxconn too). Keeps the poll set and the memory bounded.
constexpr std::size_t kMaxClients = 64;

core::Error socket_error(const conf::StatsSocket& s, std::string what, int e) {
    return core::Error{core::Errc::io, core::Side::internal, e,
                       s.loc.str() + ": stats socket " + s.addr.to_string() + ": " + std::move(what)};
}

// Resolves `user` / `group` of a `stats socket` line; -1 keeps the current owner.
core::Result<std::pair<uid_t, gid_t>> owner_of(const conf::StatsSocket& s) {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!s.user.empty()) {
        passwd* pw = getpwnam(s.user.c_str());
        if (pw == nullptr) return core::Unexpected{socket_error(s, "user '" + s.user + "' does not exist", 0)};
        uid = pw->pw_uid;
    }
    if (!s.group.empty()) {
        group* gr = getgrnam(s.group.c_str());
        if (gr == nullptr) return core::Unexpected{socket_error(s, "group '" + s.group + "' does not exist", 0)};
        gid = gr->gr_gid;
    }
    return std::pair{uid, gid};
}

}  // namespace

struct StatsServer::Client {
    int fd = -1;
    CliSession session;
    std::string in, out;
    std::size_t out_sent = 0;
    std::uint64_t deadline_ms = 0;
};

core::Result<std::unique_ptr<StatsServer>> StatsServer::bind(const conf::Global& g) {
    std::unique_ptr<StatsServer> srv(new StatsServer());
    srv->timeout_ms_ = g.stats_timeout > 0 ? g.stats_timeout : 10000;
    for (const auto& s : g.stats_sockets) {
        Listener l;
        l.level = cli_level(s.level);
        int fd = socket(s.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return core::Unexpected{socket_error(s, "socket", errno)};
        l.fd = fd;
        if (s.addr.is_unix()) {
            auto owner = owner_of(s);
            if (!owner) {
                close(fd);
                return core::Unexpected{owner.error()};
            }
            std::string path = reinterpret_cast<const sockaddr_un*>(&s.addr.ss)->sun_path;
            std::string tmp = path + "." + std::to_string(getpid()) + ".tmp";
            sockaddr_un un{};
            un.sun_family = AF_UNIX;
            if (tmp.size() >= sizeof un.sun_path) {
                close(fd);
                return core::Unexpected{socket_error(s, "path too long for a unix socket", 0)};
            }
            std::memcpy(un.sun_path, tmp.c_str(), tmp.size() + 1);
            unlink(tmp.c_str());
            if (::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) {
                int e = errno;
                close(fd);
                return core::Unexpected{socket_error(s, "bind", e)};
            }
            // Mode and owner are set on the file before it appears under its real name, so no
            // client can connect through a socket with the wrong permissions.
            bool ok = chmod(tmp.c_str(), static_cast<mode_t>(s.mode)) == 0 &&
                      (owner->first == static_cast<uid_t>(-1) && owner->second == static_cast<gid_t>(-1)
                           ? true
                           : chown(tmp.c_str(), owner->first, owner->second) == 0) &&
                      listen(fd, kBacklog) == 0 && rename(tmp.c_str(), path.c_str()) == 0;
            if (!ok) {
                int e = errno;
                close(fd);
                unlink(tmp.c_str());
                return core::Unexpected{socket_error(s, "cannot set up the socket file", e)};
            }
            struct stat st{};
            if (stat(path.c_str(), &st) == 0) l.inode = st.st_ino;
            l.path = path;
        } else {
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (::bind(fd, s.addr.sa(), s.addr.len) != 0 || listen(fd, kBacklog) != 0) {
                int e = errno;
                close(fd);
                return core::Unexpected{socket_error(s, "bind", e)};
            }
        }
        srv->listeners_.push_back(std::move(l));
    }
    return srv;
}

StatsServer::~StatsServer() {
    stop();
    close_listeners();
}

void StatsServer::close_listeners() noexcept {
    for (auto& l : listeners_) {
        if (l.fd >= 0) close(l.fd);
        l.fd = -1;
        // Remove the file only if it is still ours (a newer process may have replaced it).
        struct stat st{};
        if (!l.path.empty() && stat(l.path.c_str(), &st) == 0 && st.st_ino == l.inode) unlink(l.path.c_str());
    }
    listeners_.clear();
}

void StatsServer::start(StatsSource src, ProcessFacts facts) {
    if (listeners_.empty() || thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        src_ = std::move(src);
        facts_ = std::move(facts);
        history_.reset(src_, core::monotonic_ms());
    }
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        SKJOLD_LOG(alert, "stats socket: eventfd: {}", std::strerror(errno));
        return;
    }
    stop_.store(false);
    thread_ = std::thread([this] { run(); });
}

void StatsServer::stop() {
    if (thread_.joinable()) {
        stop_.store(true);
        std::uint64_t one = 1;
        if (write(wake_fd_, &one, sizeof one) < 0) { /* the loop also wakes every second */ }
        thread_.join();
    }
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
}

void StatsServer::adopt(StatsSource src) {
    std::lock_guard lock(mu_);
    src_ = std::move(src);
    history_.reset(src_, core::monotonic_ms());
}

void StatsServer::note_reload(std::string summary) {
    std::lock_guard lock(mu_);
    facts_.last_reload = std::move(summary);
}

void StatsServer::note_stopping() {
    std::lock_guard lock(mu_);
    facts_.stopping = true;
}

void StatsServer::accept_clients(const Listener& l, std::vector<std::unique_ptr<Client>>& clients) noexcept {
    for (;;) {
        int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;   // EAGAIN, or a transient error: poll tells us again
        if (clients.size() >= kMaxClients) {
            close(fd);
            continue;
        }
        try {
            auto c = std::make_unique<Client>();
            c->fd = fd;
            c->session.level = l.level;
            c->session.timeout_ms = timeout_ms_;
            c->deadline_ms = core::monotonic_ms() + static_cast<std::uint64_t>(timeout_ms_);
            clients.push_back(std::move(c));
        } catch (...) {
            close(fd);
            return;
        }
    }
}

bool StatsServer::serve(Client& c, bool readable, bool writable) noexcept {
    try {
        std::uint64_t now = core::monotonic_ms();
        if (readable && c.out.empty() && !c.session.closing) {
            char buf[4096];
            ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n == 0) return false;   // the client is gone: an unfinished line is dropped
            if (n < 0) return errno == EAGAIN || errno == EINTR;
            c.in.append(buf, static_cast<std::size_t>(n));
            c.deadline_ms = now + static_cast<std::uint64_t>(c.session.timeout_ms);
            // Every complete line received so far; a non-interactive session ends after the
            // last of them (HAProxy closes once no further command is waiting).
            std::size_t nl;
            while (!c.session.closing && (nl = c.in.find('\n')) != std::string::npos) {
                std::string line = c.in.substr(0, nl);
                c.in.erase(0, nl + 1);
                bool interactive = c.session.interactive;
                {
                    std::lock_guard lock(mu_);
                    CliContext ctx{src_, history_, facts_, core::monotonic_ms()};
                    history_.tick(src_, ctx.now_ms);
                    run_line(line, c.session, ctx, c.out);
                }
                if (!interactive && c.session.closing && !c.session.quit && c.in.find('\n') != std::string::npos)
                    c.session.closing = false;   // more commands already waiting: answer them too
                c.deadline_ms = core::monotonic_ms() + static_cast<std::uint64_t>(c.session.timeout_ms);
            }
            if (c.in.size() > kMaxLine) return false;
            writable = !c.out.empty();
        }
        if (writable && c.out_sent < c.out.size()) {
            ssize_t n = send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
            if (n < 0) return errno == EAGAIN || errno == EINTR;
            c.out_sent += static_cast<std::size_t>(n);
            c.deadline_ms = now + static_cast<std::uint64_t>(c.session.timeout_ms);
            if (c.out_sent == c.out.size()) {
                c.out.clear();
                c.out_sent = 0;
            }
        }
        return !(c.session.closing && c.out.empty());
    } catch (...) {
        return false;   // out of memory: drop this client, keep serving the others
    }
}

void StatsServer::run() noexcept {
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<pollfd> fds;
    std::uint64_t next_tick = core::monotonic_ms() + kTickMs;
    while (!stop_.load()) {
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
        std::uint64_t now = core::monotonic_ms();
        std::uint64_t wake_at = next_tick;
        for (const auto& c : clients) {
            short ev = c->out.empty() ? POLLIN : POLLOUT;
            fds.push_back({c->fd, ev, 0});
            wake_at = std::min(wake_at, c->deadline_ms);
        }
        int wait = wake_at > now ? static_cast<int>(std::min<std::uint64_t>(wake_at - now, kTickMs)) : 0;
        if (poll(fds.data(), fds.size(), wait) < 0 && errno != EINTR) {
            SKJOLD_LOG(err, "stats socket: poll: {}", std::strerror(errno));
            usleep(100000);
            continue;
        }
        now = core::monotonic_ms();
        if (now >= next_tick) {
            std::lock_guard lock(mu_);
            history_.tick(src_, now);
            next_tick = now + kTickMs;
        }
        for (std::size_t i = 0; i < listeners_.size(); ++i)
            if (fds[1 + i].revents & POLLIN) accept_clients(listeners_[i], clients);
        // Clients accepted just now have no pollfd yet; they are served on the next turn.
        std::size_t first_client = 1 + listeners_.size();
        for (std::size_t i = 0; i + first_client < fds.size(); ++i) {
            Client& c = *clients[i];
            short re = fds[first_client + i].revents;
            bool keep = true;
            if (re & (POLLIN | POLLOUT | POLLERR | POLLHUP))
                keep = serve(c, (re & (POLLIN | POLLHUP | POLLERR)) != 0, (re & POLLOUT) != 0);
            if (keep && now >= c.deadline_ms) keep = false;   // stats timeout / set timeout cli
            if (!keep) {
                close(c.fd);
                c.fd = -1;
            }
        }
        std::erase_if(clients, [](const auto& c) { return c->fd < 0; });
    }
    for (auto& c : clients) close(c->fd);
}

}  // namespace skjold::proxy
