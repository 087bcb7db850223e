#pragma once
// Listening sockets. Created by the control thread before the workers start, so the bound
// address (port 0 resolved) is known and written to the ready file. TCP binds get one
// SO_REUSEPORT socket per worker (the kernel spreads connections); a unix socket is shared.

#include <string>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "core/sock_addr.hh"

namespace skjold::proxy {

struct ListenerSpec {
    int proxy = -1;                  // index into Snapshot::proxies
    int bind = -1;                   // index into Proxy::binds
    std::string bind_name;
    core::SockAddr addr;             // as bound (port resolved)
    core::SockAddr configured;       // as written (port 0 stays 0): what a reload matches on
    std::vector<int> fds;            // one per worker (the same fd repeated for unix sockets)
};

// Binds every address of every frontend bind. On failure closes what it opened and says
// "FILE:LINE: cannot bind ADDR: reason".
core::Result<std::vector<ListenerSpec>> open_listeners(const conf::Snapshot& snap, unsigned nworkers);
// Reload: the same, except that an address `old` already has (same address as written, port 0
// included, same number of workers; else the address an old socket is bound to) keeps old's
// sockets (fds copied, not duplicated) and bound address; the others are bound anew. On
// failure only the newly bound sockets are closed.
core::Result<std::vector<ListenerSpec>> reuse_listeners(const conf::Snapshot& snap, unsigned nworkers,
                                                        const std::vector<ListenerSpec>& old);
void close_listeners(std::vector<ListenerSpec>& ls) noexcept;

// "<proxy> <bind-name or -> <address>" lines, written to PATH.tmp then renamed to PATH.
core::Result<void> write_ready_file(const std::string& path, const conf::Snapshot& snap,
                                    const std::vector<ListenerSpec>& ls);

}  // namespace skjold::proxy
