#pragma once
// The TLS state of one connection to a `server ... ssl` (a ServerConn in mode http, a
// TcpSession's server side in mode tcp), and the receive half of tls_conn.hh's recipe made
// concrete for provided buffers.
//
// Why it is more than a TlsConn: the code above it (the HTTP engine, the relay) reads
// plaintext from a BufferQueue of the worker's receive buffers, and those buffers come only
// from the kernel. Received ciphertext waits in `cipher` until OpenSSL has taken it (OpenSSL
// copies it into its own record buffer), and a buffer OpenSSL has taken entirely is free: it is
// kept as `spare` and the next plaintext is written into it (or appended to the plaintext
// queue's last buffer). One receive can complete more plaintext than one buffer holds (the end
// of a 16 KB record held back from earlier receives, plus the records behind it), so a stream
// can be left with plaintext inside OpenSSL and no buffer to put it in: pull() then answers
// need_buffer and the owner borrows one from the ring (borrow_buffer(): a one-byte read of
// /dev/zero with buffer selection), so a response never stalls waiting for a receive that
// will not come. An idle pooled connection keeps no buffer (release_spare()).
//
// Owner: the worker of the connection; embedded in its slab slot, never moved. Assignment
// (`c = ServerConn{}` resets a slot) closes and re-initialises: the owner has recycled the
// buffers first (release()).

#include <cstdint>

#include <liburing.h>

#include "core/buffer_ring.hh"
#include "proxy/tls_conn.hh"

namespace skjold::proxy {

class TlsClientContext;

struct TlsStream {
    TlsConn conn;
    TlsClientContext* ctx = nullptr;     // null: a plain connection
    core::BufferQueue cipher;            // received, not yet taken by OpenSSL
    std::uint16_t spare = core::kNoBuffer;
    std::uint32_t plain_taken = 0;       // plaintext taken by the write whose ciphertext is in flight
    bool handshaking = false;
    bool send_inflight = false;          // a send of pending_output() is in flight
    bool report_send = false;            // its completion answers a plaintext send of the owner
    bool borrow_inflight = false;
    bool eof = false;                    // the server's FIN arrived
    bool eof_fed = false;
    bool failing = false;                // the handshake failed: waiting for the socket's operations to end
    bool fin_after_output = false;       // shutdown(SHUT_WR) once the close_notify has been sent

    TlsStream() = default;
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;
    TlsStream(TlsStream&&) noexcept {}
    TlsStream& operator=(TlsStream&&) noexcept {
        reset();
        return *this;
    }

    bool active() const noexcept { return ctx != nullptr; }
    // Ciphertext from a receive completion (res > 0).
    void on_cipher(core::BufferRing& br, std::uint16_t bid, std::uint32_t len) noexcept { cipher.push(br, bid, len); }
    // A borrowed buffer arrived (its byte is ignored).
    void on_borrowed(core::BufferRing& br, std::uint16_t bid) noexcept;

    // Drives the handshake with the queued ciphertext. ok: done (call pull() next: records
    // may follow the Finished message in the same receive).
    TlsStatus handshake(core::BufferRing& br) noexcept;

    enum class Pull : std::uint8_t {
        ok,             // everything decryptable was delivered, or `plain` reached `limit`
        need_buffer,    // plaintext waits inside OpenSSL or in `cipher` and no buffer is free
        closed,         // the server closed the TLS stream (close_notify, or FIN after the handshake)
        failed,         // see conn.error()
    };
    // Decrypts into `plain` until it holds `limit` bytes. `produced`: plaintext bytes added.
    Pull pull(core::BufferRing& br, core::BufferQueue& plain, std::uint32_t limit, std::uint32_t& produced) noexcept;
    // Something is held back that pull() would deliver (given room and a buffer).
    bool backlog() const noexcept;
    // Bytes received and not yet given to the owner (for its backpressure marks).
    std::uint32_t held() const noexcept { return cipher.bytes; }

    // The spare goes back to the ring (an idle connection holds no buffer).
    void release_spare(core::BufferRing& br) noexcept;
    // Every buffer back to the ring and the TLS connection closed (before the slot is reused).
    void release(core::BufferRing& br) noexcept;

    // What a failed handshake is logged with: `why` when given, else the certificate's
    // verification error, OpenSSL's reason or the failure class. Static text.
    const char* failure_reason(const char* why) const noexcept;
    // Buffers can be borrowed: /dev/zero could be opened (else the next receive brings one).
    static bool can_borrow() noexcept { return zero_fd() >= 0; }
    // Prepares the borrow of a receive buffer in `sqe`: a one-byte read of /dev/zero with
    // buffer selection from `group` (needs can_borrow()). The caller sets user_data and counts
    // it in flight; on_borrowed() takes the buffer.
    static void prep_borrow(io_uring_sqe* sqe, std::uint16_t group) noexcept;

private:
    static int zero_fd() noexcept;
    void reset() noexcept;
    // The head of `cipher` lost n bytes to OpenSSL; a buffer taken entirely becomes the spare.
    void took(core::BufferRing& br, std::size_t n) noexcept;
    void keep_spare(core::BufferRing& br, std::uint16_t bid) noexcept;
    void feed_head(core::BufferRing& br) noexcept;
};

}  // namespace skjold::proxy
