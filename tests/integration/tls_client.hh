#pragma once
// TLS helpers for the integration tests (tlsfront): test certificates made with the openssl CLI,
// `openssl s_client` runs, and an in-process OpenSSL client for loops of handshakes and for
// connections held open. Every
// connection goes to 127.0.0.1 only. Owner: the test thread.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "address.hh"
#include "skjold_process.hh"

namespace skjold::test {

// A self-signed certificate for `name` (CN and SAN), HAProxy's PEM convention (certificate then
// key in one file): `pem` is what `crt` loads, `cert` the certificate alone (curl --cacert).
struct TestCert {
    std::filesystem::path pem, cert;
};
enum class KeyType { ecdsa_p256, rsa_2048 };
// Writes dir/NAME.crt, dir/NAME.key and `pem_path` (cert + key). FAILs the test when openssl fails.
TestCert make_cert(const std::filesystem::path& dir, const std::filesystem::path& pem_path, std::string_view name,
                   KeyType type = KeyType::ecdsa_p256);

// `openssl s_client -connect ADDR args...` with `input` on its stdin and -ign_eof (it reads
// until the server closes), so TLS 1.3 tickets and the reply are read before it exits.
RunResult s_client(const Address& at, const std::vector<std::string>& args, std::string_view input = {},
                   std::chrono::milliseconds timeout = 10s);

// The value after "KEY" on the first line of `out` that contains it ("Protocol  :" -> "TLSv1.3").
std::string field_after(std::string_view out, std::string_view key);

// One TLS connection from this process, open until close() or abort() (or destruction: close):
// for tests that hold connections open while they look at the server. Full handshake, no
// session offered; 5 s deadline on every socket call.
class TlsConnection {
public:
    // Connects, sends `prefix` in clear first (a PROXY header), then handshakes with `sni`.
    // Never throws: check established().
    static TlsConnection open(const Address& at, std::string_view sni, std::string_view prefix = {});
    // The same on a client context of the caller's (SSL_new takes its own reference).
    static TlsConnection open_on(SSL_CTX* ctx, const Address& at, std::string_view sni, std::string_view prefix = {});

    TlsConnection() = default;
    TlsConnection(TlsConnection&& o) noexcept : fd_(o.fd_), ssl_(o.ssl_) {
        o.fd_ = -1;
        o.ssl_ = nullptr;
    }
    TlsConnection& operator=(TlsConnection&&) = delete;
    TlsConnection(const TlsConnection&) = delete;
    ~TlsConnection() { close(); }

    bool established() const noexcept { return ssl_ != nullptr; }
    // Sends `request` and returns everything the server sends until it closes.
    std::string exchange(std::string_view request);
    // close_notify, then the socket.
    void close();
    // The socket closed with no close_notify (a client that just goes away).
    void abort();

private:
    int fd_ = -1;
    SSL* ssl_ = nullptr;   // set once the handshake is done
};

// One TLS connection from this process: `prefix` sent in clear first (a PROXY header), a full
// handshake with `sni`, `request`, and everything the server sends until it closes. nullopt when
// the connection or the handshake failed.
std::optional<std::string> tls_exchange(const Address& at, std::string_view sni, std::string_view request,
                                        std::string_view prefix = {});

// Full handshakes from this process (no session reused): each connects, handshakes with `sni`,
// sends `request` when not empty and reads the reply until the server closes, then closes.
// Returns how many completed the handshake.
int handshake_loop(const Address& at, std::string_view sni, int count, std::string_view request = {});

// One TLS 1.3 connection whose client Finished and `request` leave in ONE segment (a client on
// memory BIOs), as fast clients send them: the reply read until the server closes, and whether
// a session ticket came with it (`ticket`). nullopt when the connection or handshake failed.
struct OneFlight {
    std::string reply;
    bool ticket = false;
};
std::optional<OneFlight> finished_with_request(const Address& at, std::string_view sni, std::string_view request);

// VmRSS of `pid` in KiB (from /proc/PID/status); -1 when unreadable.
long rss_kib(int pid);

// Polls `f` every 50 ms until it answers true or `limit` has passed; its last answer. For what
// skjold's workers change on their own time (counters, pools, server states).
template <class F>
bool eventually(F&& f, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return f();
}

}  // namespace skjold::test
