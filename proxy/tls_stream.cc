#include "proxy/tls_stream.hh"

#include <fcntl.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace skjold::proxy {

namespace {

// Below this much room, the last plaintext buffer is not worth appending to.
constexpr std::uint32_t kTlsMinAppend = 256;

}  // namespace

int TlsStream::zero_fd() noexcept {
    static const int fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);   // one for the process, never closed
    return fd;
}

void TlsStream::prep_borrow(io_uring_sqe* sqe, std::uint16_t group) noexcept {
    io_uring_prep_read(sqe, zero_fd(), nullptr, 1, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
}

const char* TlsStream::failure_reason(const char* why) const noexcept {
    if (why != nullptr) return why;
    const char* r = conn.error() == TlsError::verify ? X509_verify_cert_error_string(conn.verify_result())
                                                      : conn.error_reason();
    return r != nullptr && *r != '\0' ? r : tls_error_name(conn.error());
}

void TlsStream::reset() noexcept {
    conn.close();
    ctx = nullptr;
    cipher = core::BufferQueue{};
    spare = core::kNoBuffer;
    plain_taken = 0;
    handshaking = send_inflight = report_send = borrow_inflight = eof = eof_fed = failing = fin_after_output = false;
}

void TlsStream::keep_spare(core::BufferRing& br, std::uint16_t bid) noexcept {
    if (spare == core::kNoBuffer) {
        br.meta(bid) = core::BufferRing::Meta{};
        spare = bid;
    } else {
        br.recycle(bid);
    }
}

void TlsStream::on_borrowed(core::BufferRing& br, std::uint16_t bid) noexcept { keep_spare(br, bid); }

void TlsStream::feed_head(core::BufferRing& br) noexcept {
    if (!cipher.empty()) {
        const auto& m = br.meta(cipher.head);
        conn.feed({br.data(cipher.head) + m.off, m.len - m.off});
    } else if (eof && !eof_fed) {
        conn.feed_eof();
        eof_fed = true;
    }
}

void TlsStream::took(core::BufferRing& br, std::size_t n) noexcept {
    if (n == 0 || cipher.empty()) return;
    std::uint16_t h = cipher.head;
    auto& m = br.meta(h);
    m.off += static_cast<std::uint32_t>(n);
    cipher.bytes -= static_cast<std::uint32_t>(n);
    if (m.off < m.len) return;
    cipher.head = m.next;
    if (cipher.head == core::kNoBuffer) cipher.tail = core::kNoBuffer;
    keep_spare(br, h);   // OpenSSL holds a copy: the buffer is free for plaintext
}

TlsStatus TlsStream::handshake(core::BufferRing& br) noexcept {
    // Bounded: each turn either takes a whole queued buffer or returns.
    for (;;) {
        feed_head(br);
        TlsStatus st = conn.handshake();
        std::size_t n = conn.release_input();
        bool whole = !cipher.empty() && n == br.meta(cipher.head).len - br.meta(cipher.head).off;
        took(br, n);
        if (st == TlsStatus::want_input && whole && !cipher.empty()) continue;
        if (st == TlsStatus::want_input && eof && !eof_fed && cipher.empty()) continue;   // let OpenSSL see the EOF
        return st;
    }
}

bool TlsStream::backlog() const noexcept {
    return !cipher.empty() || (conn.ssl() != nullptr && SSL_has_pending(conn.ssl()) == 1) || (eof && !eof_fed);
}

TlsStream::Pull TlsStream::pull(core::BufferRing& br, core::BufferQueue& plain, std::uint32_t limit,
                                std::uint32_t& produced) noexcept {
    produced = 0;
    for (;;) {
        if (plain.bytes >= limit) return Pull::ok;
        // Where the plaintext goes: the room after the last plaintext buffer, else the spare.
        std::uint8_t* dst = nullptr;
        std::uint32_t room = 0;
        bool append = false;
        if (!plain.empty() && br.size() - br.meta(plain.tail).len >= kTlsMinAppend) {
            dst = br.data(plain.tail) + br.meta(plain.tail).len;
            room = br.size() - br.meta(plain.tail).len;
            append = true;
        } else if (spare != core::kNoBuffer) {
            dst = br.data(spare);
            room = br.size();
        } else {
            return backlog() ? Pull::need_buffer : Pull::ok;
        }
        if (room > limit - plain.bytes) room = limit - plain.bytes;
        feed_head(br);
        std::size_t before = cipher.empty() ? 0 : br.meta(cipher.head).len - br.meta(cipher.head).off;
        TlsIo r = conn.read({dst, room});
        std::size_t n = conn.release_input();
        if (r.bytes > 0) {
            produced += static_cast<std::uint32_t>(r.bytes);
            if (append) {
                br.meta(plain.tail).len += static_cast<std::uint32_t>(r.bytes);
                plain.bytes += static_cast<std::uint32_t>(r.bytes);
            } else {
                std::uint16_t b = spare;
                spare = core::kNoBuffer;
                plain.push(br, b, static_cast<std::uint32_t>(r.bytes));
            }
        }
        took(br, n);
        switch (r.status) {
        case TlsStatus::ok:
            if (r.bytes == 0) return Pull::ok;
            continue;   // the span was filled: there may be more
        case TlsStatus::want_input:
            // OpenSSL took the whole head buffer and wants more: feed the next one, if any.
            if (n == before && (!cipher.empty() || (eof && !eof_fed))) continue;
            if (r.bytes > 0 && !cipher.empty()) continue;
            return Pull::ok;
        case TlsStatus::want_output: return Pull::ok;   // the owner sends pending_output() first
        case TlsStatus::closed: return Pull::closed;
        case TlsStatus::failed: return Pull::failed;
        }
        return Pull::ok;
    }
}

void TlsStream::release_spare(core::BufferRing& br) noexcept {
    if (spare != core::kNoBuffer) br.recycle(spare);
    spare = core::kNoBuffer;
}

void TlsStream::release(core::BufferRing& br) noexcept {
    cipher.clear(br);
    release_spare(br);
    reset();
}

}  // namespace skjold::proxy
