#include "proxy/tls_conn.hh"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <openssl/err.h>

#include "proxy/tls_context.hh"

namespace skjold::proxy {

const char* tls_error_name(TlsError e) noexcept {
    switch (e) {
    case TlsError::none: return "none";
    case TlsError::not_tls: return "not TLS";
    case TlsError::truncated: return "truncated";
    case TlsError::version: return "protocol version";
    case TlsError::negotiation: return "no common cipher/group/signature";
    case TlsError::verify: return "certificate verify failed";
    case TlsError::peer_alert: return "peer alert";
    case TlsError::protocol: return "protocol error";
    case TlsError::internal: return "internal error";
    }
    return "?";
}

// The BIO OpenSSL reads ciphertext from (the span the session fed, in place) and writes
// ciphertext to (the connection's output buffer). It never blocks: no bytes means "retry".
struct TlsBio {
    static TlsConn* conn(BIO* b) noexcept { return static_cast<TlsConn*>(BIO_get_data(b)); }

    static int write(BIO* b, const char* data, int len) noexcept {
        TlsConn* c = conn(b);
        BIO_clear_retry_flags(b);
        if (len <= 0) return 0;
        if (c->out_ == nullptr) {
            // One buffer per connection, allocated at its first output and kept until trim()
            // or close(): nothing is allocated per record.
            c->out_ = static_cast<std::uint8_t*>(std::malloc(TlsConn::kOutputCapacity));
            if (c->out_ == nullptr) return -1;
            c->out_head_ = c->out_tail_ = 0;
        }
        std::uint32_t room = TlsConn::kOutputCapacity - c->out_tail_;
        if (room == 0) {
            BIO_set_retry_write(b);
            return -1;
        }
        std::uint32_t n = std::min<std::uint32_t>(room, static_cast<std::uint32_t>(len));
        std::memcpy(c->out_ + c->out_tail_, data, n);
        c->out_tail_ += n;
        return static_cast<int>(n);
    }

    static int read(BIO* b, char* data, int len) noexcept {
        TlsConn* c = conn(b);
        BIO_clear_retry_flags(b);
        if (len <= 0) return 0;
        std::size_t avail = c->in_len_ - c->in_off_;
        if (avail == 0) {
            if (c->eof_) return 0;
            BIO_set_retry_read(b);
            return -1;
        }
        std::size_t n = std::min(avail, static_cast<std::size_t>(len));
        std::memcpy(data, c->in_ + c->in_off_, n);
        c->in_off_ += n;
        return static_cast<int>(n);
    }

    static long ctrl(BIO* b, int cmd, long, void*) noexcept {
        TlsConn* c = conn(b);
        switch (cmd) {
        case BIO_CTRL_FLUSH: return 1;
        case BIO_CTRL_PENDING: return static_cast<long>(c->in_len_ - c->in_off_);
        case BIO_CTRL_WPENDING: return 0;
        case BIO_CTRL_EOF: return c->eof_ && c->in_len_ == c->in_off_ ? 1 : 0;
        default: return 0;
        }
    }

    static int create(BIO* b) noexcept {
        BIO_set_init(b, 1);
        return 1;
    }

    static BIO_METHOD* method() noexcept {
        // Built once for the process (a function-local static: thread-safe), never freed.
        static BIO_METHOD* m = [] {
            BIO_METHOD* x = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "skjold tls");
            if (x != nullptr) {
                BIO_meth_set_write(x, write);
                BIO_meth_set_read(x, read);
                BIO_meth_set_ctrl(x, ctrl);
                BIO_meth_set_create(x, create);
            }
            return x;
        }();
        return m;
    }
};

namespace {

TlsError classify(unsigned long code, bool server, bool hello_seen) noexcept {
    if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
        int r = ERR_GET_REASON(code);
        switch (r) {
        case SSL_R_UNEXPECTED_EOF_WHILE_READING: return TlsError::truncated;
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_WRONG_SSL_VERSION:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION: return TlsError::version;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SUITABLE_KEY_SHARE:
        case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_NO_CIPHERS_AVAILABLE: return TlsError::negotiation;
        case SSL_R_CERTIFICATE_VERIFY_FAILED: return TlsError::verify;
        default: break;
        }
        if (r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256) return TlsError::peer_alert;
    }
    if (ERR_GET_REASON(code) == ERR_R_MALLOC_FAILURE) return TlsError::internal;
    // Nothing parsed as a ClientHello yet: the client does not speak TLS (or not to us).
    if (server && !hello_seen) return TlsError::not_tls;
    return TlsError::protocol;
}

}  // namespace

bool TlsConn::start(SSL* s, TlsStats& stats) noexcept {
    BIO* b = TlsBio::method() != nullptr ? BIO_new(TlsBio::method()) : nullptr;
    if (b == nullptr) {
        SSL_free(s);
        ERR_clear_error();
        return false;
    }
    BIO_set_data(b, this);
    SSL_set_bio(s, b, b);   // one reference, owned by the SSL from here
    SSL_set_app_data(s, this);
    // Counted open exactly while ssl_ is set: from here until close() frees it. stats_ is set
    // only here and cleared by close() after its decrement, so both ends reach the same context.
    ssl_ = s;
    stats_ = &stats;
    stats_->open.add();
    in_ = nullptr;
    in_len_ = in_off_ = 0;
    out_head_ = out_tail_ = 0;
    err_code_ = 0;
    error_ = TlsError::none;
    eof_ = hello_seen_ = done_ = failed_ = closed_ = false;
    return true;
}

bool TlsConn::accept(TlsContext& ctx) noexcept {
    close();
    SSL* s = ctx.new_ssl();
    if (s == nullptr) {
        ERR_clear_error();
        return false;
    }
    SSL_set_accept_state(s);
    if (!start(s, ctx.stats())) return false;
    client_ = nullptr;
    return true;
}

bool TlsConn::connect(TlsClientContext& ctx, std::string_view sni) noexcept {
    close();
    SSL* s = ctx.new_ssl(sni);
    if (s == nullptr) {
        ERR_clear_error();
        return false;
    }
    if (!start(s, ctx.stats())) return false;
    client_ = &ctx;
    return true;
}

void TlsConn::close() noexcept {
    if (ssl_ != nullptr) {
        // A finished handshake keeps its session resumable even when the peer just went away
        // (nginx and HAProxy do the same): without this, SSL_free would drop it from the
        // session cache, and HTTP clients rarely send close_notify.
        if (done_ && !failed_) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(ssl_);   // and the BIO
        ssl_ = nullptr;
        ERR_clear_error();
        stats_->open.sub();   // set with ssl_ in start()
    }
    std::free(out_);
    out_ = nullptr;
    out_head_ = out_tail_ = 0;
    in_ = nullptr;
    in_len_ = in_off_ = 0;
    stats_ = nullptr;
    client_ = nullptr;
}

void TlsConn::feed(std::span<const std::uint8_t> ciphertext) noexcept {
    in_ = ciphertext.data();
    in_len_ = ciphertext.size();
    in_off_ = 0;
}

std::size_t TlsConn::release_input() noexcept {
    std::size_t n = in_off_;
    in_ = nullptr;
    in_len_ = in_off_ = 0;
    return n;
}

void TlsConn::consume_output(std::size_t n) noexcept {
    out_head_ += static_cast<std::uint32_t>(std::min<std::size_t>(n, out_tail_ - out_head_));
    if (out_head_ == out_tail_) out_head_ = out_tail_ = 0;   // drained: nothing in flight, rewind
}

void TlsConn::trim() noexcept {
    if (out_ != nullptr && out_head_ == out_tail_) {
        std::free(out_);
        out_ = nullptr;
        out_head_ = out_tail_ = 0;
    }
}

void TlsConn::fail(TlsError e, unsigned long code) noexcept {
    failed_ = true;
    error_ = e;
    err_code_ = code;
    ERR_clear_error();
    if (done_ || stats_ == nullptr) return;
    stats_->failed.add();
    switch (e) {
    case TlsError::not_tls: stats_->failed_not_tls.add(); break;
    case TlsError::truncated: stats_->failed_truncated.add(); break;
    case TlsError::version: stats_->failed_version.add(); break;
    case TlsError::negotiation: stats_->failed_negotiation.add(); break;
    case TlsError::verify: stats_->failed_verify.add(); break;
    case TlsError::peer_alert: stats_->failed_alert.add(); break;
    default: stats_->failed_other.add(); break;
    }
    // A kept session that the server no longer takes must not fail the next handshake too.
    if (client_ != nullptr && SSL_session_reused(ssl_) == 0 && e != TlsError::truncated) client_->forget_session();
}

void TlsConn::on_handshake_done() noexcept {
    done_ = true;
    if (stats_ == nullptr) return;
    stats_->handshakes.add();
    if (SSL_session_reused(ssl_) == 1) stats_->resumed.add();
}

// The outcome of an SSL_* call that did not succeed.
TlsStatus TlsConn::step(int rc, bool& progressed) noexcept {
    if (!done_ && SSL_is_init_finished(ssl_)) {
        on_handshake_done();
        progressed = true;
    }
    switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ: return TlsStatus::want_input;
    case SSL_ERROR_WANT_WRITE: return TlsStatus::want_output;
    case SSL_ERROR_ZERO_RETURN:
        closed_ = true;
        return TlsStatus::closed;
    case SSL_ERROR_SYSCALL:
    case SSL_ERROR_SSL: {
        unsigned long code = ERR_peek_last_error();
        bool eof = code == 0 || (ERR_GET_LIB(code) == ERR_LIB_SSL &&
                                 ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
        if (eof && done_) {   // the peer went away without close_notify: a close for HTTP
            ERR_clear_error();
            closed_ = true;
            return TlsStatus::closed;
        }
        fail(code == 0 ? TlsError::truncated : classify(code, client_ == nullptr, hello_seen_), code);
        return TlsStatus::failed;
    }
    default:
        fail(TlsError::internal, ERR_peek_last_error());
        return TlsStatus::failed;
    }
}

TlsStatus TlsConn::handshake() noexcept {
    if (failed_ || ssl_ == nullptr) return TlsStatus::failed;
    if (done_) return TlsStatus::ok;
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        on_handshake_done();
        return TlsStatus::ok;
    }
    bool progressed = false;
    return step(rc, progressed);
}

TlsIo TlsConn::read(std::span<std::uint8_t> plain) noexcept {
    if (failed_ || ssl_ == nullptr) return {0, TlsStatus::failed};
    if (closed_) return {0, TlsStatus::closed};
    std::size_t total = 0;
    while (total < plain.size()) {
        std::size_t n = 0;
        int rc = SSL_read_ex(ssl_, plain.data() + total, plain.size() - total, &n);
        if (rc == 1) {
            if (!done_) on_handshake_done();
            total += n;
            continue;
        }
        bool progressed = false;
        TlsStatus st = step(rc, progressed);
        // Plaintext first; a close or failure behind it is reported by the next call.
        if (total > 0 && st != TlsStatus::want_input && st != TlsStatus::want_output) return {total, TlsStatus::ok};
        return {total, total > 0 ? TlsStatus::ok : st};
    }
    return {total, TlsStatus::ok};
}

TlsIo TlsConn::write(std::span<const std::uint8_t> plain) noexcept {
    if (failed_ || ssl_ == nullptr) return {0, TlsStatus::failed};
    std::size_t total = 0;
    while (total < plain.size()) {
        std::size_t n = 0;
        int rc = SSL_write_ex(ssl_, plain.data() + total, plain.size() - total, &n);
        if (rc == 1) {
            if (!done_) on_handshake_done();
            total += n;
            continue;
        }
        bool progressed = false;
        return {total, step(rc, progressed)};
    }
    return {total, TlsStatus::ok};
}

TlsStatus TlsConn::shutdown() noexcept {
    if (ssl_ == nullptr || failed_) return TlsStatus::failed;
    if (!done_) return TlsStatus::ok;   // nothing to close cleanly before the handshake ended
    int rc = SSL_shutdown(ssl_);
    if (rc >= 0) return TlsStatus::ok;  // close_notify is in the output
    bool progressed = false;
    return step(rc, progressed);
}

bool TlsConn::session_reused() const noexcept { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

std::string_view TlsConn::sni() const noexcept {
    const char* s = ssl_ != nullptr ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
    return s != nullptr ? std::string_view(s) : std::string_view();
}

std::string_view TlsConn::protocol() const noexcept {
    return ssl_ != nullptr && done_ ? std::string_view(SSL_get_version(ssl_)) : std::string_view();
}

std::string_view TlsConn::alpn() const noexcept {
    if (ssl_ == nullptr) return {};
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &p, &len);
    return p != nullptr ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

std::string_view TlsConn::cipher() const noexcept {
    const SSL_CIPHER* c = ssl_ != nullptr ? SSL_get_current_cipher(ssl_) : nullptr;
    return c != nullptr ? std::string_view(SSL_CIPHER_get_name(c)) : std::string_view();
}

const char* TlsConn::error_reason() const noexcept {
    const char* r = err_code_ != 0 ? ERR_reason_error_string(err_code_) : nullptr;
    return r != nullptr ? r : "";
}

long TlsConn::verify_result() const noexcept { return ssl_ != nullptr ? SSL_get_verify_result(ssl_) : X509_V_OK; }

}  // namespace skjold::proxy
