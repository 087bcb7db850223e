#pragma once
// One L4 (`mode tcp`) session: a client connection relayed to one server connection.
// Owner: the worker that accepted it; lives in that worker's slab; every io_uring operation
// in flight for it is counted in `inflight`, and the slot is released only when that is 0.

#include <cstdint>

#include "core/buffer_ring.hh"
#include "core/sock_addr.hh"
#include "core/timer_wheel.hh"
#include "geo/address.hh"

namespace skjold::proxy {

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
    connecting,
    retry_wait,
    sending_proxy,    // send-proxy[-v2]: the header goes to the server before any client byte
    relaying,
    closing,
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
    core::TimerNode timer;
    Direction c2s, s2c;
    std::uint8_t proxy_out_len = 0, proxy_out_off = 0;
    std::uint8_t proxy_out[108];          // send-proxy header being sent (kMaxProxyOut)
};

}  // namespace skjold::proxy
