#pragma once
// Session-ticket keys (RFC 5077 / TLS 1.3 PSK tickets) shared by every worker, so a ticket
// issued on one worker resumes on any other (SO_REUSEPORT sends a reconnecting client to a
// random worker).
//
// One writer, many lock-free readers. The writer is the control thread: the constructor and
// rotate() (every rotation_interval_ms(tune.ssl.lifetime)); the readers are the workers' ticket
// callbacks. Each slot is a seqlock: the writer makes the sequence odd, stores the words, makes
// it even again; a reader copies the words (relaxed atomics: no data race) and keeps the copy
// only when the sequence was even and unchanged around it. rotate() writes the slot after the
// current one and then publishes it as current, so the slot being written is never the one
// tickets are encrypted with; a reader that loses a race against a rotation (minutes apart)
// retries, and a decrypting reader that still loses gives up on that ticket: a full handshake,
// never a wrong key. No lock, no allocation, no cache line written by a worker.

#include <atomic>
#include <cstdint>

namespace skjold::proxy {

class TlsTicketKeys {
public:
    static constexpr int kSlots = 3;   // current + two previous: a ticket lives 2..3 intervals

    struct Key {
        std::uint8_t name[16];         // sent in the ticket; picks the key on decrypt
        std::uint8_t aes[32];          // AES-256-CBC
        std::uint8_t hmac[32];         // HMAC-SHA256
    };

    TlsTicketKeys() noexcept;          // one random current key
    TlsTicketKeys(const TlsTicketKeys&) = delete;
    TlsTicketKeys& operator=(const TlsTicketKeys&) = delete;

    // Writer (control thread only): a fresh random key becomes current; the oldest is dropped.
    // false if the random generator failed (the old keys stay).
    bool rotate() noexcept;
    // Writer, for tests and for operators who load keys: installs `k` as current.
    void install(const Key& k) noexcept;

    // Readers (any thread).
    bool current(Key& out) const noexcept;
    // The key named `name`; `is_current` false means the ticket should be renewed.
    bool find(const std::uint8_t name[16], Key& out, bool& is_current) const noexcept;

    // How often the control thread should call rotate(): tickets must stay decryptable for at
    // least the session lifetime, and a key lives between 2 and 3 intervals.
    static std::int64_t rotation_interval_ms(std::int64_t lifetime_ms) noexcept {
        return lifetime_ms > 1000 ? lifetime_ms / 2 : 1000;
    }

private:
    static constexpr int kWords = sizeof(Key) / 8;
    static_assert(sizeof(Key) % 8 == 0);
    struct alignas(64) Slot {
        std::atomic<std::uint32_t> seq{0};          // 0: never written; odd: being written
        std::atomic<std::uint64_t> words[kWords] = {};
    };
    bool read_slot(int i, Key& out) const noexcept;
    void write_slot(int i, const Key& k) noexcept;

    Slot slots_[kSlots];
    std::atomic<int> current_{0};
};

}  // namespace skjold::proxy
