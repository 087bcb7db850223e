#pragma once
// The stats sockets (`stats socket`): HAProxy's CLI on unix (or TCP) stream sockets.
//
// Threading: one thread of its own runs a poll() loop over the listening sockets, the client
// connections and an eventfd for stop(). Why not the control loop in proxy/process.cc: an
// admin command waits until the checker thread has applied it, and a `show stat` of a large
// configuration takes a while; neither must delay signal handling or a reload. The loop also
// samples the counters once a second for the rates (`rate`, `ConnRate`...).
//
// Shared state: the StatsSource, the ProcessFacts and the StatsHistory are guarded by one
// mutex, held while a command line runs and while the counters are sampled. The control thread
// takes it in adopt() (reload) and note_reload(). Workers never see it: the counters are read
// with relaxed loads, and server state changes go through the checker (StatsSource::admin).
//
// Owner: the process. bind() runs before privileges are dropped (the socket files get their
// mode, user and group then); start() after the workers and the checker run; stop() before they
// are destroyed. The destructor stops the thread, closes the sockets and removes the socket
// files this process created.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "proxy/stats_commands.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_info.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy {

class StatsServer {
public:
    // Binds every `stats socket` of `g` (none: a server that does nothing). A unix socket is
    // bound under a temporary name, given its mode/user/group, then renamed over PATH, so a
    // stale socket file is replaced atomically (as HAProxy does). Errors name the FILE:LINE.
    static core::Result<std::unique_ptr<StatsServer>> bind(const conf::Global& g);

    ~StatsServer();
    StatsServer(const StatsServer&) = delete;
    StatsServer& operator=(const StatsServer&) = delete;

    bool empty() const noexcept { return listeners_.empty(); }

    // Starts the thread (no-op without sockets). `facts.start_ms` etc. describe the process.
    void start(StatsSource src, ProcessFacts facts);
    // Stops and joins the thread; connections in progress are closed. Idempotent.
    void stop();

    // Reload: answers use `src` from now on. Waits for a command in progress, so the previous
    // source's objects may be freed once this returns. Counters history restarts.
    void adopt(StatsSource src);
    // The reload owner's one-line result for `show info` (Skjold_last_reload).
    void note_reload(std::string summary);
    // Graceful stop in progress (`show info` Stopping: 1).
    void note_stopping();

private:
    struct Listener {
        int fd = -1;
        CliLevel level = CliLevel::user;
        std::string path;   // unix socket file this process created ("" for TCP)
        ino_t inode = 0;
    };
    struct Client;

    StatsServer() = default;
    void run() noexcept;
    void accept_clients(const Listener& l, std::vector<std::unique_ptr<Client>>& clients) noexcept;
    // Reads, runs complete lines, writes; false when the client is done.
    bool serve(Client& c, bool readable, bool writable) noexcept;
    void close_listeners() noexcept;

    std::vector<Listener> listeners_;
    conf::Millis timeout_ms_ = 10000;
    int wake_fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stop_{false};

    std::mutex mu_;   // guards everything below
    StatsSource src_;
    ProcessFacts facts_;
    StatsHistory history_;
};

}  // namespace skjold::proxy
