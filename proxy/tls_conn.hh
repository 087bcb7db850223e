#pragma once
// One TLS connection, server side (a client of a `bind ... ssl`) or client side (to a
// `server ... ssl`), as a codec between the socket's ciphertext and the session's plaintext.
// It never touches a socket and never blocks: OpenSSL reads from and writes to a BIO of ours
// that serves the bytes the session fed and collects the bytes to send.
//
// Owner: the worker that owns the session; one thread only. Embeddable in a slab slot
// (default-constructible, reusable through accept()/connect() after close(), never moved).
//
// Driving it from the session (io_uring, provided buffers):
//   receive CQE (res > 0, buffer bid):
//       tls.feed({buf + off, len});                  // borrowed, not copied
//       loop: r = tls.read(plain_space)              // or handshake() until handshake_done()
//             use r.bytes of plaintext; stop on want_input / closed / failed, or when the
//             session has no plaintext space left (backpressure)
//       n = tls.release_input();                     // bytes of the span OpenSSL consumed
//       keep the unconsumed rest (buffer stays queued; feed it again first next time) or
//       recycle the buffer if all of it was consumed
//   receive CQE res == 0: tls.feed_eof(), then call read()/handshake() once more.
//   after EVERY call above and after write()/shutdown(): if pending_output() is not empty and
//       no send is in flight, send it (io_uring send on the span; it stays valid and unmoved
//       until consumed); send CQE: tls.consume_output(res), send the rest if any.
//   writing plaintext: r = tls.write(bytes); r.bytes were taken; on want_output, send the
//       pending output and call write() again with the bytes not taken (the same bytes first).
//   when the session goes idle (keep-alive): tls.trim() returns the output buffer.
//   closing: tls.shutdown() (close_notify into the output; send it if you like), then close().
//   A stalled handshake is the session's `timeout client`; close() frees everything (no
//   memory is kept after a failed handshake).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <openssl/ssl.h>

namespace skjold::proxy {

class TlsContext;
class TlsClientContext;
struct TlsStats;

enum class TlsStatus : std::uint8_t {
    ok,            // progress; for handshake(): finished
    want_input,    // needs ciphertext from the socket (feed() once it arrives)
    want_output,   // the output buffer is full: send pending_output(), consume, call again
    closed,        // the peer closed (close_notify, or EOF once the handshake was done)
    failed,        // fatal; see error(). pending_output() may hold an alert worth sending.
};

// Why a connection failed, for counters and (rate-limited) logs.
enum class TlsError : std::uint8_t {
    none,
    not_tls,          // the first bytes were not a TLS ClientHello (garbage, plain HTTP, ...)
    truncated,        // EOF in the middle of the handshake (or of a record)
    version,          // no protocol version in common (e.g. a TLS 1.0/1.1 client)
    negotiation,      // no cipher suite, group or signature algorithm in common
    verify,           // client side: the server's certificate did not verify
    peer_alert,       // the peer aborted with an alert
    protocol,         // any other protocol violation
    internal,         // out of memory or an OpenSSL failure
};
const char* tls_error_name(TlsError e) noexcept;

struct TlsIo {
    std::size_t bytes = 0;                 // plaintext produced (read) or taken (write)
    TlsStatus status = TlsStatus::ok;
};

class TlsConn {
public:
    static constexpr std::uint32_t kOutputCapacity = 17 * 1024;   // a full record and its overhead

    TlsConn() noexcept = default;
    ~TlsConn() { close(); }
    TlsConn(const TlsConn&) = delete;
    TlsConn& operator=(const TlsConn&) = delete;

    // Start a server-side connection (accepted socket) or a client-side one (to a server).
    // false: out of memory (nothing allocated remains).
    bool accept(TlsContext& ctx) noexcept;
    bool connect(TlsClientContext& ctx, std::string_view sni) noexcept;
    // Frees the SSL object, the BIO and the output buffer. Idempotent. A connection counts in
    // its context's TlsStats::open from a successful accept()/connect() until this frees the SSL
    // (the destructor calls it too): the context must outlive the connection.
    void close() noexcept;
    bool is_open() const noexcept { return ssl_ != nullptr; }

    // Ciphertext in: see the header comment. Replaces a previous borrow.
    void feed(std::span<const std::uint8_t> ciphertext) noexcept;
    std::size_t release_input() noexcept;
    std::size_t input_unread() const noexcept { return in_len_ - in_off_; }
    void feed_eof() noexcept { eof_ = true; }

    TlsStatus handshake() noexcept;
    TlsIo read(std::span<std::uint8_t> plain) noexcept;
    TlsIo write(std::span<const std::uint8_t> plain) noexcept;
    TlsStatus shutdown() noexcept;

    // Ciphertext out.
    std::span<const std::uint8_t> pending_output() const noexcept { return {out_ + out_head_, out_tail_ - out_head_}; }
    void consume_output(std::size_t n) noexcept;
    // Bytes the output can still take behind what it holds (sent or not).
    std::uint32_t output_room() const noexcept { return kOutputCapacity - out_tail_; }
    void trim() noexcept;   // frees the output buffer if it is empty

    // For fetches and logs (empty when unknown). Views stay valid until close().
    bool handshake_done() const noexcept { return done_; }
    bool session_reused() const noexcept;
    std::string_view sni() const noexcept;        // ssl_fc_sni (server side: as the client sent it)
    std::string_view protocol() const noexcept;   // ssl_fc_protocol: "TLSv1.3"
    std::string_view alpn() const noexcept;       // ssl_fc_alpn
    std::string_view cipher() const noexcept;     // "TLS_AES_128_GCM_SHA256"
    TlsError error() const noexcept { return error_; }
    const char* error_reason() const noexcept;    // OpenSSL's text for the failure (static), or ""
    long verify_result() const noexcept;          // client side: X509_V_OK or the reason
    SSL* ssl() const noexcept { return ssl_; }

    // Called by TlsContext's client-hello callback: a ClientHello was parsed.
    void note_client_hello() noexcept { hello_seen_ = true; }

private:
    friend struct TlsBio;
    bool start(SSL* s, TlsStats& stats) noexcept;
    TlsStatus step(int rc, bool& progressed) noexcept;   // classifies an SSL_* result
    void fail(TlsError e, unsigned long code) noexcept;
    void on_handshake_done() noexcept;

    SSL* ssl_ = nullptr;
    TlsStats* stats_ = nullptr;
    TlsClientContext* client_ = nullptr;
    const std::uint8_t* in_ = nullptr;
    std::size_t in_len_ = 0, in_off_ = 0;
    std::uint8_t* out_ = nullptr;
    std::uint32_t out_head_ = 0, out_tail_ = 0;
    unsigned long err_code_ = 0;
    TlsError error_ = TlsError::none;
    bool eof_ = false, hello_seen_ = false, done_ = false, failed_ = false, closed_ = false;
};

}  // namespace skjold::proxy
