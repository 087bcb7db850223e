#pragma once
// Server-side TLS session cache shared by every worker (tune.ssl.cachesize entries, a session
// lives tune.ssl.lifetime): the stateful resumption of TLS 1.2 clients without tickets, and of
// every client under `no-tls-tickets` (TLS 1.3 then sends stateful tickets). Shared, as
// HAProxy's and nginx's are, because a reconnecting client reaches a random worker
// (SO_REUSEPORT hashes the new source port): a per-worker cache would resume 1 in N.
//
// No lock: a fixed table of 512-byte entries indexed by a hash of the session id, each entry
// a seqlock. A writer claims an entry with one compare-and-swap of its sequence (even -> odd)
// and gives up when another writer holds it (a cache may drop a store; counted by the caller);
// a reader copies the entry (relaxed atomics) and keeps the copy only when the sequence was
// even and unchanged. Collisions overwrite (the newest session wins the entry); OpenSSL checks
// the session's own expiry and id context after a lookup. Sessions are stored serialised
// (i2d), never as pointers, so no worker ever frees another's object. Memory: entries x 512
// bytes of anonymous mapping (10 MB for the default 20000), pages touched only as used: every
// access goes through std::atomic_ref on plain words, so nothing is written at construction.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <openssl/ssl.h>

namespace skjold::proxy {

class TlsSessionCache {
public:
    static constexpr std::size_t kEntryBytes = 512;
    static constexpr std::size_t kMaxIdBytes = 32;         // SSL_MAX_SSL_SESSION_ID_LENGTH
    static constexpr std::size_t kDataWords = (kEntryBytes - 8 - kMaxIdBytes) / 8;
    static constexpr std::size_t kMaxSessionBytes = kDataWords * 8;   // bigger sessions are not kept

    explicit TlsSessionCache(std::size_t entries);
    ~TlsSessionCache();
    TlsSessionCache(const TlsSessionCache&) = delete;
    TlsSessionCache& operator=(const TlsSessionCache&) = delete;

    enum class Store : std::uint8_t { stored, busy, too_big, failed };
    // Any worker. Serialises `s` (OpenSSL allocates nothing for it: the buffer is on the stack).
    Store store(SSL_SESSION* s) noexcept;
    // Any worker. A new SSL_SESSION (one reference, for the caller) or null.
    SSL_SESSION* lookup(const std::uint8_t* id, std::size_t len) noexcept;
    // Any worker: drops the entry if it still holds this id (OpenSSL's single-use TLS 1.3 tickets).
    void remove(const std::uint8_t* id, std::size_t len) noexcept;

    std::size_t size() const noexcept { return n_; }

private:
    struct alignas(64) Entry {                             // accessed only through std::atomic_ref
        std::uint32_t seq;                                 // odd: being written
        std::uint32_t meta;                                // id length << 16 | data length; 0: empty
        std::uint64_t id[kMaxIdBytes / 8];
        std::uint64_t data[kDataWords];
    };
    static_assert(sizeof(Entry) == kEntryBytes);

    Entry& slot(const std::uint8_t* id, std::size_t len) noexcept;
    static bool same_id(const Entry& e, const std::uint64_t* id_words) noexcept;

    Entry* entries_ = nullptr;                             // mmap'd, zero-filled by the kernel
    std::size_t n_ = 0;
};

}  // namespace skjold::proxy
