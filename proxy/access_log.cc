#include "proxy/access_log.hh"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <time.h>

#include "proxy/log_out.hh"
#include "proxy/log_ring.hh"

namespace skjold::proxy {

namespace {

using Out = LogOut;

void put_client(Out& o, const AccessLogFields& f) noexcept {
    switch (f.client_kind) {
    case AccessLogFields::Client::ip: {
        char b[INET6_ADDRSTRLEN] = {};
        if (f.client_ip.is_v4()) {
            in_addr a{htonl(f.client_ip.v4())};
            inet_ntop(AF_INET, &a, b, sizeof b);
        } else {
            inet_ntop(AF_INET6, f.client_ip.b.data(), b, sizeof b);
        }
        o.str(b);
        o.ch(':');
        o.unum(f.client_port);
        return;
    }
    case AccessLogFields::Client::unix_socket:
        o.str("unix:");
        o.unum(f.client_port);
        return;
    case AccessLogFields::Client::unknown:
        o.str("-:-");
        return;
    }
}

void put_date(Out& o, std::int64_t time_us) noexcept {
    char b[32];
    o.ch('[');
    o.str(std::string_view(b, format_log_date(time_us, b, sizeof b)));
    o.ch(']');
}

void put_names(Out& o, const AccessLogFields& f) noexcept {
    o.str(f.frontend);
    if (f.frontend_ssl) o.ch('~');
    o.ch(' ');
    o.str(f.backend.empty() ? f.frontend : f.backend);
    o.ch('/');
    o.str(f.server.empty() ? std::string_view("<NOSRV>") : f.server);
}

// A timer chain such as "%Tw/%Tc/%Tt": the timers joined by '/', the last one (the session's or
// the request's total) with the '+' option logasap gives it. Never empty: each format passes
// its fixed list.
void put_timers(Out& o, std::initializer_list<std::int64_t> timers, bool logasap) noexcept {
    const std::int64_t* last = timers.end() - 1;
    for (const std::int64_t* t = timers.begin(); t != last; ++t) {
        o.num(*t);
        o.ch('/');
    }
    o.plus_if(logasap);
    o.num(*last);
}

// %B, with the '+' of option logasap.
void put_bytes(Out& o, const AccessLogFields& f) noexcept {
    o.plus_if(f.logasap);
    o.unum(f.bytes_out);
}

// %ts: the first two characters of the termination state (%tsc adds the cookie flags).
void put_term_state(Out& o, const AccessLogFields& f) noexcept {
    o.ch(static_cast<char>(f.term_cause));
    o.ch(static_cast<char>(f.term_phase));
}

// %ac/%fc/%bc/%sc/%rc %sq/%bq
void put_counts(Out& o, const AccessLogFields& f) noexcept {
    o.unum(f.actconn);
    o.ch('/');
    o.unum(f.feconn);
    o.ch('/');
    o.unum(f.beconn);
    o.ch('/');
    o.unum(f.srvconn);
    o.ch('/');
    o.plus_if(f.redispatched);
    o.unum(f.retries);
    o.ch(' ');
    o.unum(f.srv_queue);
    o.ch('/');
    o.unum(f.backend_queue);
}

// %{+Q}r: quoted, with HAProxy's #XX escapes (configuration.txt 8.6).
void put_request(Out& o, std::string_view r) noexcept {
    static constexpr char kHex[] = "0123456789ABCDEF";
    o.ch('"');
    if (r.empty()) {
        o.str("<BADREQ>");
    } else {
        for (char c : r) {
            auto u = static_cast<unsigned char>(c);
            if (u < 32 || u > 126 || c == '"' || c == '#') {
                o.ch('#');
                o.ch(kHex[u >> 4]);
                o.ch(kHex[u & 15]);
            } else {
                o.ch(c);
            }
        }
    }
    o.ch('"');
}

}  // namespace

const std::tm& cached_local_time(std::int64_t unix_sec) noexcept {
    thread_local std::int64_t cached_sec = -1;
    thread_local std::tm cached{};
    if (unix_sec != cached_sec) {
        time_t t = static_cast<time_t>(unix_sec);
        localtime_r(&t, &cached);
        cached_sec = unix_sec;
    }
    return cached;
}

std::int64_t log_wall_clock_us() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::size_t format_log_date(std::int64_t time_us, char* buf, std::size_t cap) noexcept {
    constexpr std::size_t kLen = 24;   // dd/Mmm/yyyy:hh:mm:ss.mmm
    if (cap < kLen) return 0;
    std::int64_t sec = time_us >= 0 ? time_us / 1000000 : (time_us - 999999) / 1000000;
    int ms = static_cast<int>((time_us - sec * 1000000) / 1000);
    const std::tm& tm = cached_local_time(sec);
    auto two = [&](std::size_t at, int v) {
        buf[at] = static_cast<char>('0' + v / 10 % 10);
        buf[at + 1] = static_cast<char>('0' + v % 10);
    };
    two(0, tm.tm_mday);
    buf[2] = '/';
    std::memcpy(buf + 3, kLogMonths[tm.tm_mon % 12], 3);
    buf[6] = '/';
    int year = tm.tm_year + 1900;
    two(7, year / 100);
    two(9, year % 100);
    buf[11] = ':';
    two(12, tm.tm_hour);
    buf[14] = ':';
    two(15, tm.tm_min);
    buf[17] = ':';
    two(18, tm.tm_sec);
    buf[20] = '.';
    buf[21] = static_cast<char>('0' + ms / 100);
    two(22, ms % 100);
    return kLen;
}

namespace {
// "%ci:%cp [%t] %ft %b/%s ": the start both formats share.
void put_origin(Out& o, const AccessLogFields& f) noexcept {
    put_client(o, f);
    o.ch(' ');
    put_date(o, f.date_us);
    o.ch(' ');
    put_names(o, f);
    o.ch(' ');
}
}  // namespace

std::size_t format_tcplog(const AccessLogFields& f, char* buf, std::size_t cap) noexcept {
    Out o{buf, cap};
    put_origin(o, f);
    put_timers(o, {f.t_queue, f.t_connect, f.t_total}, f.logasap);
    o.ch(' ');
    put_bytes(o, f);
    o.ch(' ');
    put_term_state(o, f);
    o.ch(' ');
    put_counts(o, f);
    return o.n;
}

std::size_t format_httplog(const AccessLogFields& f, char* buf, std::size_t cap) noexcept {
    Out o{buf, cap};
    put_origin(o, f);
    put_timers(o, {f.t_request, f.t_queue, f.t_connect, f.t_response, f.t_active}, f.logasap);
    o.ch(' ');
    o.num(f.status);
    o.ch(' ');
    put_bytes(o, f);
    // %CC %CS: no cookie capture in skjold, so "-" as HAProxy prints without one.
    o.str(" - - ");
    put_term_state(o, f);
    o.str("--");   // cookie flags: persistence cookies are not supported
    o.ch(' ');
    put_counts(o, f);
    // %hr %hs print nothing without `capture request/response header` and HAProxy merges the
    // separators around them, so one space precedes the request.
    o.ch(' ');
    put_request(o, f.request_line);
    return o.n;
}

void log_session(LogRing& ring, const conf::Proxy& fe, int fe_index, std::uint32_t generation,
                 const AccessLogFields& f) noexcept {
    if (fe.logs.empty() || !(fe.option_tcplog || fe.option_httplog)) return;
    if (fe.option_dontlognull && f.bytes_in == 0) return;
    bool wanted = false;
    for (const auto& t : fe.logs)
        if (t.level >= kTrafficLogLevel) {
            wanted = true;
            break;
        }
    if (!wanted) return;
    char* slot = ring.reserve();
    if (slot == nullptr) return;   // counted by the ring
    bool http = fe.option_httplog && fe.mode == conf::Mode::http;
    std::size_t n = http ? format_httplog(f, slot, ring.text_capacity()) : format_tcplog(f, slot, ring.text_capacity());
    ring.commit(fe_index, kTrafficLogLevel, log_wall_clock_us(), n, generation);
}

}  // namespace skjold::proxy
