#pragma once
// The control-thread side of logging: framing a message for one `log` target (raw, HAProxy's
// default "local", RFC 3164, RFC 5424), sending it without ever blocking (stdout, stderr, unix
// datagram sockets such as /dev/log, UDP syslog over IPv4/IPv6), and the LogDrain that empties
// every worker's LogRing into its proxy's targets.
// Owner: the control thread (process.cc). Nothing here runs on a worker.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/counter.hh"
#include "proxy/log_ring.hh"
#include "proxy/worker_stats.hh"

namespace skjold::proxy {

// Who the lines say they come from.
struct LogIdentity {
    std::string tag = "skjold";   // rfc3164/local "TAG[PID]:", rfc5424 APP-NAME
    std::string hostname;         // rfc3164/rfc5424 HOSTNAME; empty: omitted (3164), "-" (5424)
    int pid = 0;
    // tag "skjold", gethostname(), getpid(): call after daemonizing (the pid is final then).
    static LogIdentity of_this_process();
};

// The level sent to `t` for a message of `level` (0 emerg .. 7 debug), or -1 when `t` filters
// it out: a level above t.level is not sent; one more severe than t.minlevel is lowered to it.
int target_level(const conf::LogTarget& t, int level) noexcept;

// The bytes for one message to `t` (level already from target_level()): the header of t.format,
// the message, both cut to t.maxlen bytes together, then '\n' (what HAProxy 2.6 sends, measured:
// a `len 100` target receives 101 bytes). Writes at most `cap` bytes; returns the length.
//   raw      MSG
//   local    <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG
//   rfc3164  <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG
//   rfc5424  <PRI>1 YYYY-MM-DDThh:mm:ss.uuuuuu+hh:mm HOSTNAME TAG PID - - MSG
// PRI = facility * 8 + level; times are local, from `time_us` (wall clock, microseconds).
std::size_t frame_log_line(const conf::LogTarget& t, int level, std::int64_t time_us, std::string_view msg,
                           const LogIdentity& id, char* out, std::size_t cap) noexcept;

// Sends framed lines. Sockets are opened on first use (one unconnected UDP socket per address
// family, one unix datagram socket, all non-blocking); stdout/stderr are switched to
// O_NONBLOCK on first use, as HAProxy does, and restored by the destructor. A message that
// cannot leave at once (full socket buffer or pipe, no listener, no route) is dropped and
// counted.
class LogSink {
public:
    explicit LogSink(LogIdentity id);
    ~LogSink();
    LogSink(const LogSink&) = delete;
    LogSink& operator=(const LogSink&) = delete;

    // Filters by the target's levels, frames and sends. Returns false when dropped or filtered.
    bool send(const conf::LogTarget& t, int level, std::int64_t time_us, std::string_view msg) noexcept;

    // Any thread may read these (the stats socket's DroppedLogs).
    std::uint64_t sent() const noexcept { return sent_.read(); }
    std::uint64_t dropped() const noexcept { return dropped_.read(); }
    const LogIdentity& identity() const noexcept { return id_; }

private:
    int socket_for(int family) noexcept;
    int stdio_fd(int fd) noexcept;

    LogIdentity id_;
    std::vector<char> frame_;   // one framed line (up to 65535 + 1 bytes)
    int udp4_ = -1, udp6_ = -1, unix_ = -1;
    int stdout_flags_ = -1, stderr_flags_ = -1;   // flags before O_NONBLOCK; -1: untouched
    core::Counter sent_, dropped_;   // written by the control thread only
};

// A ring sized for `snap`: slots of the longest `len` among targets of proxies that log
// traffic (at least 1024, at most 8192 bytes; a longer line is cut), 1024 slots (fewer when
// the slots are large); a token ring when no proxy logs traffic.
std::unique_ptr<LogRing> make_log_ring(const conf::Snapshot& snap);

// Empties the workers' rings into their proxies' targets; sends the process's own lines.
// Call drain() every kIntervalMs while active(), and once more after the workers stopped.
class LogDrain {
public:
    static constexpr int kIntervalMs = 20;

    // `snap` is generation `generation`'s (1 at start).
    LogDrain(std::shared_ptr<const conf::Snapshot> snap, std::vector<LogRing*> rings, LogIdentity id,
             std::uint32_t generation = 1);

    // A reload: generation `generation` is the newest; process lines go to its targets. The
    // older ones stay known until forget(): their sessions' records (tagged with their
    // generation) still go to their own targets for their own proxy index.
    void adopt(std::shared_ptr<const conf::Snapshot> snap, std::uint32_t generation = 0);
    // A retired generation is gone: drains what its workers published, then drops its Snapshot.
    void forget(std::uint32_t generation);
    // Some proxy or the global section has a log target.
    bool active() const noexcept { return active_; }
    // Sends every record published so far (at most one ring's capacity per ring and call).
    std::size_t drain() noexcept;

    // A process line to the global targets (reload ok/failed, hard stop).
    void process_log(int level, std::string_view msg) noexcept;
    // A line to one proxy's targets ("Proxy X started.").
    void proxy_log(int proxy, int level, std::string_view msg) noexcept;
    // HAProxy's per-proxy lines at start ("Proxy NAME started.", notice) and after a stop
    // ("Proxy NAME stopped (cumulated conns: FE: a, BE: b).", warning). `fe_conns`/`be_conns`
    // are by proxy index.
    void log_proxies_started() noexcept;
    void log_proxies_stopped(const std::vector<std::uint64_t>& fe_conns,
                             const std::vector<std::uint64_t>& be_conns) noexcept;
    // The same with the counts summed from every worker's cum_conn. A `listen` proxy counts its
    // accepts and its backend assignments in one counter, so each side gets half.
    void log_proxies_stopped(const std::vector<std::unique_ptr<WorkerStats>>& stats) noexcept;

    // DroppedLogs: full rings plus messages the sink could not send. Safe from any thread.
    std::uint64_t dropped() const noexcept;
    std::uint64_t sent() const noexcept { return sink_.sent(); }

private:
    const conf::Snapshot& snapshot_of(std::uint32_t generation) const noexcept;
    void update_active() noexcept;

    std::shared_ptr<const conf::Snapshot> snap_;   // the newest generation's
    std::uint32_t generation_ = 0;
    // Retired generations whose sessions may still log (at most 7: a reload waits for more).
    std::vector<std::pair<std::uint32_t, std::shared_ptr<const conf::Snapshot>>> retired_;
    std::vector<LogRing*> rings_;
    LogSink sink_;
    bool active_ = false;
};

}  // namespace skjold::proxy
