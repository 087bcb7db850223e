#include "proxy/listener.hh"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace skjold::proxy {

namespace {

core::Result<int> bind_one(const core::SockAddr& addr, int backlog, bool reuseport) {
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::fail(core::Errc::io, "socket", errno);
    int one = 1;
    if (!addr.is_unix()) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // Accepted sockets inherit it: relayed small writes are not held back by Nagle.
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            int e = errno;
            ::close(fd);
            return core::fail(core::Errc::io, "SO_REUSEPORT", e);
        }
    } else {
        // A stale socket file from an earlier run would make bind fail with EADDRINUSE.
        const auto* un = reinterpret_cast<const sockaddr_un*>(&addr.ss);
        struct stat st{};
        if (::stat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(un->sun_path);
    }
    if (::bind(fd, addr.sa(), addr.len) != 0 || ::listen(fd, backlog) != 0) {
        int e = errno;
        ::close(fd);
        return core::fail(core::Errc::io, "bind", e);
    }
    return fd;
}

}  // namespace

core::Result<std::vector<ListenerSpec>> open_listeners(const conf::Snapshot& snap, unsigned nworkers) {
    std::vector<ListenerSpec> none;
    return reuse_listeners(snap, nworkers, none);
}

core::Result<std::vector<ListenerSpec>> reuse_listeners(const conf::Snapshot& snap, unsigned nworkers,
                                                        const std::vector<ListenerSpec>& old) {
    std::vector<ListenerSpec> out;
    std::vector<bool> taken(old.size(), false);
    // On failure only what this call bound is closed: the sockets of `old` stay with it.
    auto fail_with = [&](core::Error e) -> core::Result<std::vector<ListenerSpec>> {
        for (std::size_t i = 0; i < out.size(); ++i) {
            bool reused = false;
            for (std::size_t j = 0; j < old.size() && !reused; ++j)
                reused = !old[j].fds.empty() && !out[i].fds.empty() && old[j].fds.front() == out[i].fds.front();
            if (!reused) {
                std::vector<ListenerSpec> one{out[i]};
                close_listeners(one);
            }
        }
        return core::Unexpected{e};
    };
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
        const auto& px = snap.proxies[p];
        if (!px.is_frontend || px.disabled) continue;
        for (std::size_t b = 0; b < px.binds.size(); ++b) {
            const auto& bind = px.binds[b];
            int backlog = bind.backlog > 0 ? bind.backlog : (px.maxconn > 0 ? px.maxconn : 1024);
            for (const auto& a : bind.addrs) {
                ListenerSpec ls;
                ls.proxy = static_cast<int>(p);
                ls.bind = static_cast<int>(b);
                ls.bind_name = bind.name;
                ls.addr = a;
                ls.configured = a;
                // Reload: the same address keeps its sockets (and the connections in their
                // backlog); a bind on port 0 that stays keeps the port it got. Failing that, an
                // address that names what an old socket is bound to takes that socket (a bind
                // written `:0`, then the port it got): binding it anew and closing the old one
                // would reset the connections waiting in the old backlog.
                std::size_t same = old.size();
                for (std::size_t j = 0; j < old.size() && same == old.size(); ++j)
                    if (!taken[j] && old[j].configured == a && old[j].fds.size() == nworkers) same = j;
                for (std::size_t j = 0; j < old.size() && same == old.size(); ++j)
                    if (!taken[j] && old[j].addr == a && old[j].fds.size() == nworkers) same = j;
                if (same < old.size()) {
                    taken[same] = true;
                    ls.addr = old[same].addr;
                    ls.fds = old[same].fds;
                    out.push_back(std::move(ls));
                    continue;
                }
                unsigned n = a.is_unix() ? 1 : nworkers;
                for (unsigned w = 0; w < n; ++w) {
                    auto fd = bind_one(ls.addr, backlog, !a.is_unix());
                    if (!fd) {
                        for (int f : ls.fds) ::close(f);
                        auto e = fd.error();
                        e.detail = bind.loc.str() + ": cannot bind " + a.to_string() + " for proxy '" + px.name + "'";
                        return fail_with(e);
                    }
                    if (w == 0 && !a.is_unix() && a.port() == 0) {
                        // Port 0: the kernel chose; the other workers' sockets join that port.
                        sockaddr_storage ss{};
                        socklen_t len = sizeof ss;
                        getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len);
                        ls.addr = core::SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
                    }
                    ls.fds.push_back(*fd);
                }
                while (ls.fds.size() < nworkers) ls.fds.push_back(ls.fds.front());
                out.push_back(std::move(ls));
            }
        }
    }
    return out;
}

void close_listeners(std::vector<ListenerSpec>& ls) noexcept {
    for (auto& l : ls) {
        int last = -1;
        for (int fd : l.fds)
            if (fd != last) {
                ::close(fd);
                last = fd;
            }
        l.fds.clear();
    }
}

core::Result<void> write_ready_file(const std::string& path, const conf::Snapshot& snap,
                                    const std::vector<ListenerSpec>& ls) {
    std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return core::fail(core::Errc::io, "cannot write " + tmp, errno);
    for (const auto& l : ls)
        std::fprintf(f, "%s %s %s\n", snap.proxies[l.proxy].name.c_str(),
                     l.bind_name.empty() ? "-" : l.bind_name.c_str(), l.addr.to_string().c_str());
    if (std::fclose(f) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0)
        return core::fail(core::Errc::io, "cannot write " + path, errno);
    return {};
}

}  // namespace skjold::proxy
