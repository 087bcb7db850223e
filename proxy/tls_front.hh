#pragma once
// TLS termination on a worker's client connections (`bind ... ssl`): the per-session state
// kept beside the TcpSession slab (same slot index) and the storage for it. The code that
// drives it is WorkerRuntime's (proxy/tls_front.cc); the relay and the HTTP engine see only
// plaintext in the session's c2s queue and hand their client sends to WorkerRuntime::tls_send.
//
// Receive: a ciphertext buffer B from the provided-buffer ring is fed to the TlsConn and the
// plaintext is written back into buffers of the same ring, in place: into B's bytes that
// OpenSSL has already taken (never past them), or into `hold`, an earlier buffer entirely
// taken whose last TLS record was cut by the buffer's end. Since a record's plaintext is never
// longer than its ciphertext, that room always suffices; nothing is copied elsewhere and
// nothing is allocated. The held buffer is queued once the cut record is complete.
//
// Send: one plaintext send at a time per session (the relay's and the HTTP engine's rule
// already); it is encrypted one record (16 KB) at a time into the TlsConn's output, the output
// is sent (kOpTlsSendClient), and once all of it went out the session's own completion
// handler is called with the plaintext byte count, as if the socket had taken those bytes.
//
// Owner: the worker thread of the WorkerRuntime (one per configuration generation).

#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "core/buffer_ring.hh"
#include "proxy/tls_conn.hh"

namespace skjold::proxy {

// The largest plaintext encrypted per TLS record and per send.
inline constexpr std::uint32_t kTlsRecordPlain = 16384;
// A record's bytes beyond its plaintext, with room to spare: header, TLS 1.3 content type and
// AEAD tag (22), or TLS 1.2 CBC's IV, MAC and padding (at most 85).
inline constexpr std::uint32_t kTlsRecordSlack = 256;

struct TlsSlot {
    TlsConn conn;
    std::uint16_t hold = core::kNoBuffer;   // kept buffer (see above) and its plaintext bytes
    std::uint32_t hold_len = 0;
    const std::uint8_t* wr_data = nullptr;  // the session's send being encrypted (stays valid
    std::uint32_t wr_len = 0;               // until its completion is reported)
    std::uint32_t wr_taken = 0;             // plaintext bytes in the output, reported once sent
    bool wr_active = false;                 // the session has a send outstanding
    bool wr_failed = false;                 // encryption failed: report an error (a NOP completes)
    bool out_inflight = false;              // a ciphertext send (or that NOP) is in flight
    bool fin_after_output = false;          // shutdown(SHUT_WR) once the close_notify is sent
    bool peer_closed = false;               // close_notify received

    void reset() noexcept {
        hold = core::kNoBuffer;
        hold_len = 0;
        wr_data = nullptr;
        wr_len = wr_taken = 0;
        wr_active = wr_failed = out_inflight = fin_after_output = peer_closed = false;
    }
};

// TlsSlots by session slot, in chunks allocated as the session slab grows (at an accept,
// never per byte; never freed or moved while the runtime lives, like the slab's own chunks).
class TlsSlots {
public:
    static constexpr std::uint32_t kChunk = 256;
    // false: out of memory.
    bool reserve(std::uint32_t slot) noexcept {
        std::size_t need = slot / kChunk + 1;
        if (chunks_.size() >= need) return true;
        try {
            while (chunks_.size() < need) chunks_.push_back(std::make_unique<TlsSlot[]>(kChunk));
        } catch (const std::bad_alloc&) {
            return false;
        }
        return true;
    }
    TlsSlot& operator[](std::uint32_t slot) noexcept { return chunks_[slot / kChunk][slot % kChunk]; }

private:
    std::vector<std::unique_ptr<TlsSlot[]>> chunks_;
};

}  // namespace skjold::proxy
