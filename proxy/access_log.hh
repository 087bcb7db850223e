#pragma once
// Access-log lines in HAProxy 2.6's exact formats (configuration.txt 8.2.2 and 8.2.3):
//   option tcplog:  %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
//   option httplog: %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
//                   %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
// AccessLogFields is data only: the session fills it at its end (tcp) or per request (http);
// the formatters write into the caller's buffer (the worker's log-ring slot): noexcept, no
// allocation, no lock (the local-time conversion is cached per thread and second).

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "conf/snapshot_types.hh"
#include "geo/address.hh"

namespace skjold::proxy {

class LogRing;

// Session state at disconnection (configuration.txt 8.5): the first event that ended the session...
enum class TermCause : char {
    none = '-',             // normal completion
    client_abort = 'C',
    server_abort = 'S',     // also: the server refused the connection
    proxy = 'P',            // denied, limit, blocked response
    resource = 'R',         // out of memory, sockets, ports
    internal = 'I',
    server_down = 'D',      // killed because the server went down
    backup_up = 'U',        // killed on a backup server because an active one came up
    killed = 'K',           // by an admin
    local = 'L',            // answered by the proxy itself (return, redirect, stats)
    client_timeout = 'c',
    server_timeout = 's',
};
// ...and the phase it was in.
enum class TermPhase : char {
    none = '-',             // after the end of the transfer
    request = 'R',          // waiting for a complete request (HTTP)
    queue = 'Q',
    connect = 'C',
    headers = 'H',          // waiting for the response headers (HTTP)
    data = 'D',
    last = 'L',             // sending the last data to the client
    tarpit = 'T',
};

struct AccessLogFields {
    // %ci:%cp: the client as the session knows it (after the PROXY protocol). On a unix
    // listener HAProxy prints "unix" and the listener's id as the port; unknown prints "-".
    enum class Client : std::uint8_t { ip, unix_socket, unknown };
    Client client_kind = Client::ip;
    geo::IpAddr client_ip{};
    std::uint16_t client_port = 0;

    // Wall clock in microseconds since the epoch (log_wall_clock_us()): the accept for tcplog
    // (%t), the first byte of the request for httplog (%tr). Printed in local time.
    std::int64_t date_us = 0;

    // Names point into the Snapshot the session runs on. An empty backend prints the frontend's
    // name (nothing was routed yet, as HAProxy); an empty server prints "<NOSRV>".
    std::string_view frontend, backend, server;
    bool frontend_ssl = false;          // %ft: the frontend name with a '~' suffix

    // Timers in milliseconds; -1: the session ended before that step (printed as -1).
    std::int64_t t_request = -1;        // TR: first request byte to complete request head
    std::int64_t t_queue = -1;          // Tw
    std::int64_t t_connect = -1;        // Tc
    std::int64_t t_response = -1;       // Tr: request sent to complete response head
    std::int64_t t_active = -1;         // Ta: first request byte to last response byte
    std::int64_t t_total = -1;          // Tt: accept to close

    int status = -1;                    // %ST (HTTP)
    std::uint64_t bytes_out = 0;        // %B: bytes sent to the client
    std::uint64_t bytes_in = 0;         // %U: bytes received from the client (dontlognull)

    TermCause term_cause = TermCause::none;
    TermPhase term_phase = TermPhase::none;

    std::uint32_t actconn = 0, feconn = 0, beconn = 0, srvconn = 0, retries = 0;
    bool redispatched = false;          // %rc gets a '+' prefix
    std::uint32_t srv_queue = 0, backend_queue = 0;

    // %r: the request line without CRLF, as received; empty prints "<BADREQ>". Bytes outside
    // 32..126, '"' and '#' are written as #XX (configuration.txt 8.6).
    std::string_view request_line;

    bool logasap = false;               // Tt/Ta and %B get a '+' prefix (option logasap)
};

// Write the line (no trailing newline) into buf[0..cap), cut at cap. Return the length written.
std::size_t format_tcplog(const AccessLogFields& f, char* buf, std::size_t cap) noexcept;
std::size_t format_httplog(const AccessLogFields& f, char* buf, std::size_t cap) noexcept;

// HAProxy's accept/request date: "22/Nov/2026:04:05:06.123" (local time). Returns the length
// (24), or 0 when cap is too small.
std::size_t format_log_date(std::int64_t time_us, char* buf, std::size_t cap) noexcept;

// CLOCK_REALTIME in microseconds (vDSO, no system call): for AccessLogFields::date_us.
std::int64_t log_wall_clock_us() noexcept;

// localtime_r() for `unix_sec`, cached per thread for the last second asked (glibc's
// localtime_r takes a lock; one call per second and thread is acceptable on the data path).
const std::tm& cached_local_time(std::int64_t unix_sec) noexcept;

// The level HAProxy logs traffic at ("Connections are logged at level info").
inline constexpr int kTrafficLogLevel = 6;

// The session's entry point, called when a tcp session ends or an HTTP request completes.
// Applies the frontend's logging options: nothing when the frontend has no log target, no
// `option tcplog`/`option httplog`, no target whose level lets info through, or when
// `option dontlognull` is set and the client sent no byte. Otherwise formats the line
// (httplog for an HTTP frontend with option httplog, else tcplog) straight into the
// worker's ring and commits it for `fe_index` (the frontend's index in the Snapshot of
// configuration `generation`). Never blocks: a full ring drops the line and counts it.
void log_session(LogRing& ring, const conf::Proxy& fe, int fe_index, std::uint32_t generation,
                 const AccessLogFields& f) noexcept;

}  // namespace skjold::proxy
