#include "proxy/tls_ticket_keys.hh"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace skjold::proxy {

namespace {

bool random_key(TlsTicketKeys::Key& k) noexcept {
    return RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof(k)) == 1;
}

}  // namespace

TlsTicketKeys::TlsTicketKeys() noexcept {
    Key k{};
    // Without randomness there is no safe key: slot 0 stays unwritten and no ticket is issued
    // (current() fails), which costs resumption, not security.
    if (random_key(k)) write_slot(0, k);
    OPENSSL_cleanse(&k, sizeof(k));
}

void TlsTicketKeys::write_slot(int i, const Key& k) noexcept {
    Slot& s = slots_[i];
    std::uint64_t w[kWords];
    std::memcpy(w, &k, sizeof(k));
    std::uint32_t seq = s.seq.load(std::memory_order_relaxed);
    s.seq.store(seq | 1u, std::memory_order_relaxed);            // odd: readers discard
    std::atomic_thread_fence(std::memory_order_release);
    for (int j = 0; j < kWords; ++j) s.words[j].store(w[j], std::memory_order_relaxed);
    s.seq.store((seq | 1u) + 1u, std::memory_order_release);     // even and new
    OPENSSL_cleanse(w, sizeof(w));
}

bool TlsTicketKeys::read_slot(int i, Key& out) const noexcept {
    const Slot& s = slots_[i];
    for (int attempt = 0; attempt < 4; ++attempt) {              // bounded: a writer is minutes apart
        std::uint32_t before = s.seq.load(std::memory_order_acquire);
        if (before == 0) return false;                           // never written
        if (before & 1u) continue;
        std::uint64_t w[kWords];
        for (int j = 0; j < kWords; ++j) w[j] = s.words[j].load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) != before) continue;
        std::memcpy(&out, w, sizeof(out));
        OPENSSL_cleanse(w, sizeof(w));
        return true;
    }
    return false;
}

bool TlsTicketKeys::rotate() noexcept {
    Key k{};
    if (!random_key(k)) return false;
    install(k);
    OPENSSL_cleanse(&k, sizeof(k));
    return true;
}

void TlsTicketKeys::install(const Key& k) noexcept {
    int next = (current_.load(std::memory_order_relaxed) + 1) % kSlots;
    write_slot(next, k);
    current_.store(next, std::memory_order_release);
}

bool TlsTicketKeys::current(Key& out) const noexcept {
    for (int attempt = 0; attempt < 4; ++attempt)
        if (read_slot(current_.load(std::memory_order_acquire), out)) return true;
    return false;
}

bool TlsTicketKeys::find(const std::uint8_t name[16], Key& out, bool& is_current) const noexcept {
    int cur = current_.load(std::memory_order_acquire);
    for (int d = 0; d < kSlots; ++d) {                           // newest first
        int i = (cur - d + kSlots) % kSlots;
        if (!read_slot(i, out)) continue;
        if (CRYPTO_memcmp(out.name, name, sizeof(out.name)) != 0) continue;
        is_current = d == 0;
        return true;
    }
    OPENSSL_cleanse(&out, sizeof(out));
    return false;
}

}  // namespace skjold::proxy
