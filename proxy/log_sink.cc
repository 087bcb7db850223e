#include "proxy/log_sink.hh"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/access_log.hh"
#include "proxy/log_out.hh"

namespace skjold::proxy {

namespace {

constexpr std::size_t kMaxFrame = 65535 + 1;   // `len` is at most 65535, then '\n'
using Out = LogOut;

void put_pri(Out& o, const conf::LogTarget& t, int level) noexcept {
    o.ch('<');
    o.num(t.facility * 8 + level);
    o.ch('>');
}

// "04:05:06": the time of day both syslog timestamps share.
void put_clock(Out& o, const std::tm& tm) noexcept {
    o.pad(tm.tm_hour, 2, '0');
    o.ch(':');
    o.pad(tm.tm_min, 2, '0');
    o.ch(':');
    o.pad(tm.tm_sec, 2, '0');
}

// "Nov 22 04:05:06 " (RFC 3164 TIMESTAMP: the day is space-padded)
void put_3164_time(Out& o, const std::tm& tm) noexcept {
    o.str(kLogMonths[tm.tm_mon % 12]);
    o.ch(' ');
    o.pad(tm.tm_mday, 2, ' ');
    o.ch(' ');
    put_clock(o, tm);
    o.ch(' ');
}

// "2026-11-22T04:05:06.123456+00:00 " (RFC 5424 TIMESTAMP, as HAProxy: microseconds, offset)
void put_5424_time(Out& o, const std::tm& tm, long usec) noexcept {
    o.pad(tm.tm_year + 1900, 4, '0');
    o.ch('-');
    o.pad(tm.tm_mon + 1, 2, '0');
    o.ch('-');
    o.pad(tm.tm_mday, 2, '0');
    o.ch('T');
    put_clock(o, tm);
    o.ch('.');
    o.pad(usec, 6, '0');
    long off = tm.tm_gmtoff / 60;
    o.ch(off < 0 ? '-' : '+');
    if (off < 0) off = -off;
    o.pad(off / 60, 2, '0');
    o.ch(':');
    o.pad(off % 60, 2, '0');
    o.ch(' ');
}

int make_socket(int family) noexcept {
    return ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

}  // namespace

LogIdentity LogIdentity::of_this_process() {
    LogIdentity id;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) id.hostname = host;
    id.pid = static_cast<int>(getpid());
    return id;
}

int target_level(const conf::LogTarget& t, int level) noexcept {
    if (level > t.level) return -1;
    return level < t.minlevel ? t.minlevel : level;
}

std::size_t frame_log_line(const conf::LogTarget& t, int level, std::int64_t time_us, std::string_view msg,
                           const LogIdentity& id, char* out, std::size_t cap) noexcept {
    if (cap == 0) return 0;
    // Room for the '\n' that follows the `len` bytes.
    Out o{out, std::min<std::size_t>(t.maxlen, cap - 1)};
    std::int64_t sec = time_us >= 0 ? time_us / 1000000 : (time_us - 999999) / 1000000;
    switch (t.format) {
    case conf::LogFormat::raw:
        break;
    case conf::LogFormat::local:
    case conf::LogFormat::rfc3164:
        put_pri(o, t, level);
        put_3164_time(o, cached_local_time(sec));
        if (t.format == conf::LogFormat::rfc3164 && !id.hostname.empty()) {
            o.str(id.hostname);
            o.ch(' ');
        }
        o.str(id.tag);
        o.ch('[');
        o.num(id.pid);
        o.str("]: ");
        break;
    case conf::LogFormat::rfc5424:
        put_pri(o, t, level);
        o.str("1 ");
        put_5424_time(o, cached_local_time(sec), static_cast<long>(time_us - sec * 1000000));
        o.str(id.hostname.empty() ? std::string_view("-") : std::string_view(id.hostname));
        o.ch(' ');
        o.str(id.tag);
        o.ch(' ');
        o.num(id.pid);
        o.str(" - - ");   // MSGID, STRUCTURED-DATA
        break;
    }
    o.str(msg);
    out[o.n] = '\n';
    return o.n + 1;
}

LogSink::LogSink(LogIdentity id) : id_(std::move(id)), frame_(kMaxFrame) {}

LogSink::~LogSink() {
    for (int fd : {udp4_, udp6_, unix_})
        if (fd >= 0) ::close(fd);
    if (stdout_flags_ >= 0) fcntl(STDOUT_FILENO, F_SETFL, stdout_flags_);
    if (stderr_flags_ >= 0) fcntl(STDERR_FILENO, F_SETFL, stderr_flags_);
}

int LogSink::socket_for(int family) noexcept {
    int& fd = family == AF_INET ? udp4_ : family == AF_INET6 ? udp6_ : unix_;
    if (fd < 0) fd = make_socket(family);
    return fd;
}

// A full pipe must drop the line rather than stall the control thread: HAProxy also switches
// its fd@ targets to non-blocking. The original flags come back at exit.
int LogSink::stdio_fd(int fd) noexcept {
    int& saved = fd == STDOUT_FILENO ? stdout_flags_ : stderr_flags_;
    if (saved < 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0) return -1;
        saved = fl;
        if ((fl & O_NONBLOCK) == 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    return fd;
}

bool LogSink::send(const conf::LogTarget& t, int level, std::int64_t time_us, std::string_view msg) noexcept {
    int lvl = target_level(t, level);
    if (lvl < 0) return false;
    std::size_t n = frame_log_line(t, lvl, time_us, msg, id_, frame_.data(), frame_.size());
    ssize_t r = -1;
    switch (t.kind) {
    case conf::LogTarget::Kind::stdout_:
    case conf::LogTarget::Kind::stderr_: {
        int fd = stdio_fd(t.kind == conf::LogTarget::Kind::stdout_ ? STDOUT_FILENO : STDERR_FILENO);
        if (fd >= 0) r = ::write(fd, frame_.data(), n);
        break;
    }
    case conf::LogTarget::Kind::unix_dgram:
    case conf::LogTarget::Kind::udp: {
        int fd = socket_for(t.addr.family());
        if (fd >= 0) r = ::sendto(fd, frame_.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL, t.addr.sa(), t.addr.len);
        break;
    }
    }
    if (r < 0) {
        dropped_.add();
        return false;
    }
    sent_.add();
    return true;
}

std::unique_ptr<LogRing> make_log_ring(const conf::Snapshot& snap) {
    std::size_t longest = 0;
    for (const auto& px : snap.proxies) {
        if (!px.is_frontend || !(px.option_tcplog || px.option_httplog)) continue;
        for (const auto& t : px.logs) longest = std::max<std::size_t>(longest, t.maxlen);
    }
    if (longest == 0) return std::make_unique<LogRing>(2, 64);   // nothing logs traffic
    std::size_t text = std::clamp<std::size_t>(longest, 1024, 8192);
    std::size_t slots = std::max<std::size_t>(256, (std::size_t{1} << 20) / text);   // ~1 MiB
    return std::make_unique<LogRing>(std::min<std::size_t>(slots, 1024), text);
}

LogDrain::LogDrain(std::shared_ptr<const conf::Snapshot> snap, std::vector<LogRing*> rings, LogIdentity id,
                   std::uint32_t generation)
    : rings_(std::move(rings)), sink_(std::move(id)) {
    adopt(std::move(snap), generation);
}

void LogDrain::adopt(std::shared_ptr<const conf::Snapshot> snap, std::uint32_t generation) {
    if (snap_ != nullptr && generation_ != 0) retired_.emplace_back(generation_, std::move(snap_));
    snap_ = std::move(snap);
    generation_ = generation;
    update_active();
}

void LogDrain::forget(std::uint32_t generation) {
    drain();
    std::erase_if(retired_, [generation](const auto& r) { return r.first == generation; });
    update_active();
}

void LogDrain::update_active() noexcept {
    auto logs = [](const conf::Snapshot& s) {
        return !s.global.logs.empty() ||
               std::any_of(s.proxies.begin(), s.proxies.end(), [](const auto& px) { return !px.logs.empty(); });
    };
    active_ = logs(*snap_) || std::any_of(retired_.begin(), retired_.end(), [&](const auto& r) { return logs(*r.second); });
}

const conf::Snapshot& LogDrain::snapshot_of(std::uint32_t generation) const noexcept {
    if (generation != 0 && generation != generation_)
        for (const auto& [g, s] : retired_)
            if (g == generation) return *s;
    return *snap_;
}

std::size_t LogDrain::drain() noexcept {
    std::size_t n = 0;
    for (LogRing* ring : rings_) {
        n += ring->drain(
            [&](const LogRing::Record& r) {
                const auto& proxies = snapshot_of(r.generation).proxies;
                if (r.proxy < 0 || static_cast<std::size_t>(r.proxy) >= proxies.size()) return;
                for (const auto& t : proxies[static_cast<std::size_t>(r.proxy)].logs)
                    sink_.send(t, r.level, r.time_us, r.text);
            },
            ring->capacity());
    }
    return n;
}

void LogDrain::process_log(int level, std::string_view msg) noexcept {
    std::int64_t now = log_wall_clock_us();
    for (const auto& t : snap_->global.logs) sink_.send(t, level, now, msg);
}

void LogDrain::proxy_log(int proxy, int level, std::string_view msg) noexcept {
    if (proxy < 0 || static_cast<std::size_t>(proxy) >= snap_->proxies.size()) return;
    std::int64_t now = log_wall_clock_us();
    for (const auto& t : snap_->proxies[static_cast<std::size_t>(proxy)].logs) sink_.send(t, level, now, msg);
}

namespace {
// One of HAProxy's per-proxy lines, "Proxy NAME" then what `tail(out, index)` appends, sent at
// `level` to each enabled proxy of `snap` (the drain's newest) that has log targets.
template <class Tail>
void log_each_proxy(LogDrain& drain, const conf::Snapshot& snap, int level, Tail&& tail) noexcept {
    char buf[512];
    for (std::size_t i = 0; i < snap.proxies.size(); ++i) {
        const auto& px = snap.proxies[i];
        if (px.logs.empty() || px.disabled) continue;
        Out o{buf, sizeof buf};
        o.str("Proxy ");
        o.str(px.name);
        tail(o, i);
        drain.proxy_log(static_cast<int>(i), level, std::string_view(buf, o.n));
    }
}
}  // namespace

void LogDrain::log_proxies_started() noexcept {
    log_each_proxy(*this, *snap_, 5, [](Out& o, std::size_t) { o.str(" started."); });
}

void LogDrain::log_proxies_stopped(const std::vector<std::uint64_t>& fe_conns,
                                   const std::vector<std::uint64_t>& be_conns) noexcept {
    log_each_proxy(*this, *snap_, 4, [&](Out& o, std::size_t i) {
        o.str(" stopped (cumulated conns: FE: ");
        o.num(static_cast<long>(i < fe_conns.size() ? fe_conns[i] : 0));
        o.str(", BE: ");
        o.num(static_cast<long>(i < be_conns.size() ? be_conns[i] : 0));
        o.str(").");
    });
}

void LogDrain::log_proxies_stopped(const std::vector<std::unique_ptr<WorkerStats>>& stats) noexcept {
    std::size_t n = snap_->proxies.size();
    std::vector<std::uint64_t> fe(n, 0), be(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t sum = 0;
        for (const auto& ws : stats) sum += ws->proxies[i].cum_conn.read();
        const auto& px = snap_->proxies[i];
        if (px.is_frontend && px.is_backend) fe[i] = be[i] = sum / 2;
        else if (px.is_frontend) fe[i] = sum;
        else be[i] = sum;
    }
    log_proxies_stopped(fe, be);
}

std::uint64_t LogDrain::dropped() const noexcept {
    std::uint64_t n = sink_.dropped();
    for (const LogRing* r : rings_) n += r->dropped();
    return n;
}

}  // namespace skjold::proxy
