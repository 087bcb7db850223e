#pragma once
// One connection from this worker to a server in HTTP mode. Owner: the worker's HttpEngine; it
// lives in the engine's slab and its io_uring operations carry its own slot, so it can outlive
// the client session that opened it: between requests it waits in the per-server idle pool
// (or stays with its session when private), with its multishot receive still armed so that a
// server closing it is noticed at once and the connection dropped.

#include <cstdint>

#include "core/buffer_ring.hh"
#include "core/sock_addr.hh"
#include "proxy/tcp_session.hh"
#include "proxy/tls_stream.hh"

namespace skjold::proxy {

enum class ConnState : std::uint8_t {
    free,
    connecting,
    busy,         // carrying its owner session's request/response
    owned_idle,   // between two requests of its owner (private connection: http-reuse never, send-proxy)
    pooled,       // in the idle pool of its server, no owner
    closing,      // shut down; released when no operation is in flight
};

struct ServerConn {
    std::uint32_t slot = 0;
    ConnState state = ConnState::free;
    int fd = -1;
    int backend = -1, server = -1;
    std::uint32_t owner = kNoSlot;       // HttpSession slot while connecting/busy/owned_idle
    std::uint16_t inflight = 0;
    bool recv_armed = false;
    bool cancel_sent = false;            // backpressure: the receive is being cancelled
    bool starved = false;                // the receive ended with -ENOBUFS
    bool eof = false;                    // the server sent FIN
    bool failed = false;                 // a receive/send error (reset): never reused
    bool send_inflight = false;
    bool is_private = false;             // never shared through the pool
    std::uint32_t uses = 0;              // transactions completed on it
    core::BufferQueue in;                // bytes from the server not yet handled
    TaggedTimer timer{{}, TimerOwner::server_conn};   // connect timeout, then idle purge
    std::uint32_t prev = kNoSlot, next = kNoSlot;     // idle pool list (pooled only)
    core::SockAddr addr{};               // the connect SQE points here
    TlsStream tls;                       // `server ... ssl` (tls.active()): `in` holds the plaintext
};

}  // namespace skjold::proxy
