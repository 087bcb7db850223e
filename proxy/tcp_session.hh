#pragma once
// One client connection: an L4 (`mode tcp`) session relayed to one server connection, or the
// client side of an HTTP session (`mode http`: TcpState::http, its HTTP state in the worker's
// HttpEngine, index `http`). An HTTP session that upgrades (WebSocket) becomes a relaying one.
// Owner: the worker that accepted it; lives in that worker's slab; every io_uring operation
// in flight for it is counted in `inflight`, and the slot is released only when that is 0.

#include <cstdint>

#include "core/buffer_ring.hh"
#include "core/sock_addr.hh"
#include "core/timer_wheel.hh"
#include "geo/address.hh"
#include "proxy/backend_queue.hh"
#include "proxy/tls_stream.hh"

namespace skjold::proxy {

class TlsConn;

// Who owns a timer node: the worker's on_timer() reads the tag to find the owner's type.
enum class TimerOwner : std::uint8_t { listener, session, server_conn };
struct TaggedTimer {
    core::TimerNode node;     // first member: a TimerNode* is a TaggedTimer*
    TimerOwner owner = TimerOwner::session;
    // The WorkerRuntime (configuration generation) on this worker that owns the timer: its
    // slot in the WorkerHost. Set when the owner's slot is initialised (WorkerRuntime::tag).
    std::uint8_t host = 0;
};

inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

// One direction of the relay: bytes received on one socket, queued, sent on the other.
struct Direction {
    core::BufferQueue q;
    bool recv_armed = false;      // a multishot receive is in flight
    bool cancel_sent = false;     // we asked the kernel to stop that receive (backpressure)
    bool send_inflight = false;
    bool eof = false;             // the source sent FIN
    bool shut = false;            // we propagated it: shutdown(destination, SHUT_WR)
    bool starved = false;         // the receive ended with -ENOBUFS; re-armed when buffers return
};

enum class TcpState : std::uint8_t {
    free,
    proxy_header,     // accept-proxy: waiting for the PROXY protocol header (timeout client)
    queued,           // every usable server is at its maxconn: waiting in the backend queue
    connecting,
    retry_wait,
    sending_proxy,    // send-proxy[-v2]: the header goes to the server before any client byte
    relaying,
    closing,
    http,             // mode http: the HttpEngine drives the session (HttpSession `http`)
    tls_handshake,    // `bind ... ssl`: the TLS handshake runs (timeout client), then routing
};

struct TcpSession {
    std::uint32_t slot = 0;
    TcpState state = TcpState::free;
    int cfd = -1, sfd = -1;
    int listener = -1;            // index in the worker's listeners
    int frontend = -1, backend = -1, server = -1;
    int retries_left = 0;
    bool aborting = false;
    bool src_known = false, dst_known = false;
    std::uint16_t inflight = 0;
    std::uint64_t last_activity = 0;
    std::int64_t idle_timeout = -1;      // ms; -1 none
    geo::IpAddr src{}, dst{};
    std::uint16_t src_port = 0, dst_port = 0;
    core::SockAddr dst_sa{};              // as the client reached us (for servers without a port)
    core::SockAddr server_sa{};           // the server being connected to (the connect SQE points here)
    std::uint32_t http = kNoSlot;         // mode http: the HttpSession slot in the HttpEngine
    TlsConn* tls = nullptr;               // `bind ... ssl`: the runtime's TlsSlot for this slot (tls_front.hh)
    TaggedTimer timer;
    TlsStream srv_tls;                    // mode tcp, `server ... ssl`: s2c.q holds the plaintext (tcp_server_tls.cc)
    QueueLink queue;                      // waiting for a server slot (backend_queue.hh)
    Direction c2s, s2c;
    // For the tcplog line (access_log.hh): times on the worker's clock (ms), the accept's wall
    // clock, bytes each way, and the termination state's two letters (TermCause, TermPhase).
    std::int64_t date_us = 0;
    std::uint64_t t_accept = 0, t_connect = 0, t_connected = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    char term_cause = '-', term_phase = '-';
    bool no_log = false;                  // rejected by tcp-request connection: not logged (HAProxy)
    std::uint8_t proxy_out_len = 0, proxy_out_off = 0;
    std::uint8_t proxy_out[108];          // send-proxy header being sent (kMaxProxyOut)
};

}  // namespace skjold::proxy
