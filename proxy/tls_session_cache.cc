#include "proxy/tls_session_cache.hh"

#include <cstring>
#include <new>
#include <sys/mman.h>

namespace skjold::proxy {

namespace {

using Ref32 = std::atomic_ref<std::uint32_t>;
using Ref64 = std::atomic_ref<std::uint64_t>;

constexpr std::size_t kIdWords = TlsSessionCache::kMaxIdBytes / 8;

std::uint64_t mix(std::uint64_t x) noexcept {   // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void id_words(const std::uint8_t* id, std::size_t len, std::uint64_t (&w)[kIdWords]) noexcept {
    std::memset(w, 0, sizeof(w));
    std::memcpy(w, id, len);
}

}  // namespace

TlsSessionCache::TlsSessionCache(std::size_t entries) : n_(entries) {
    if (n_ == 0) return;
    void* p = mmap(nullptr, n_ * sizeof(Entry), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();   // control plane: start-up fails with a message
    entries_ = static_cast<Entry*>(p);
}

TlsSessionCache::~TlsSessionCache() {
    if (entries_ != nullptr) munmap(entries_, n_ * sizeof(Entry));
}

TlsSessionCache::Entry& TlsSessionCache::slot(const std::uint8_t* id, std::size_t len) noexcept {
    std::uint64_t w[kIdWords];
    id_words(id, len, w);
    std::uint64_t h = len;
    for (auto x : w) h = mix(h ^ x);
    return entries_[h % n_];
}

bool TlsSessionCache::same_id(const Entry& e, const std::uint64_t* id_words) noexcept {
    for (std::size_t i = 0; i < kIdWords; ++i)
        if (Ref64(const_cast<std::uint64_t&>(e.id[i])).load(std::memory_order_relaxed) != id_words[i]) return false;
    return true;
}

TlsSessionCache::Store TlsSessionCache::store(SSL_SESSION* s) noexcept {
    if (n_ == 0) return Store::failed;
    unsigned int idlen = 0;
    const unsigned char* id = SSL_SESSION_get_id(s, &idlen);
    if (idlen == 0 || idlen > kMaxIdBytes) return Store::failed;
    int len = i2d_SSL_SESSION(s, nullptr);
    if (len <= 0) return Store::failed;
    if (static_cast<std::size_t>(len) > kMaxSessionBytes) return Store::too_big;
    std::uint64_t data[kDataWords];
    unsigned char* p = reinterpret_cast<unsigned char*>(data);
    if (i2d_SSL_SESSION(s, &p) != len) return Store::failed;
    std::uint64_t idw[kIdWords];
    id_words(id, idlen, idw);

    Entry& e = slot(id, idlen);
    Ref32 seq(e.seq);
    std::uint32_t cur = seq.load(std::memory_order_relaxed);
    if ((cur & 1u) || !seq.compare_exchange_strong(cur, cur + 1, std::memory_order_relaxed)) return Store::busy;
    std::atomic_thread_fence(std::memory_order_release);
    Ref32(e.meta).store(idlen << 16 | static_cast<std::uint32_t>(len), std::memory_order_relaxed);
    for (std::size_t i = 0; i < kIdWords; ++i) Ref64(e.id[i]).store(idw[i], std::memory_order_relaxed);
    std::size_t words = (static_cast<std::size_t>(len) + 7) / 8;
    for (std::size_t i = 0; i < words; ++i) Ref64(e.data[i]).store(data[i], std::memory_order_relaxed);
    seq.store(cur + 2, std::memory_order_release);
    return Store::stored;
}

SSL_SESSION* TlsSessionCache::lookup(const std::uint8_t* id, std::size_t len) noexcept {
    if (n_ == 0 || len == 0 || len > kMaxIdBytes) return nullptr;
    std::uint64_t idw[kIdWords];
    id_words(id, len, idw);
    Entry& e = slot(id, len);
    Ref32 seq(e.seq);
    for (int attempt = 0; attempt < 2; ++attempt) {          // bounded: a miss is acceptable
        std::uint32_t before = seq.load(std::memory_order_acquire);
        if (before & 1u) continue;
        std::uint32_t meta = Ref32(e.meta).load(std::memory_order_relaxed);
        if (meta == 0 || (meta >> 16) != len) return nullptr;
        std::size_t dlen = meta & 0xFFFFu;
        if (dlen > kMaxSessionBytes) return nullptr;          // torn read; the check below would fail too
        bool match = same_id(e, idw);
        std::uint64_t data[kDataWords];
        std::size_t words = (dlen + 7) / 8;
        if (match)
            for (std::size_t i = 0; i < words; ++i) data[i] = Ref64(e.data[i]).load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq.load(std::memory_order_relaxed) != before) continue;
        if (!match) return nullptr;
        const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
        return d2i_SSL_SESSION(nullptr, &p, static_cast<long>(dlen));
    }
    return nullptr;
}

void TlsSessionCache::remove(const std::uint8_t* id, std::size_t len) noexcept {
    if (n_ == 0 || len == 0 || len > kMaxIdBytes) return;
    std::uint64_t idw[kIdWords];
    id_words(id, len, idw);
    Entry& e = slot(id, len);
    Ref32 seq(e.seq);
    std::uint32_t cur = seq.load(std::memory_order_relaxed);
    if ((cur & 1u) || !seq.compare_exchange_strong(cur, cur + 1, std::memory_order_relaxed)) return;
    std::atomic_thread_fence(std::memory_order_release);
    if (same_id(e, idw) && (Ref32(e.meta).load(std::memory_order_relaxed) >> 16) == len)
        Ref32(e.meta).store(0, std::memory_order_relaxed);
    seq.store(cur + 2, std::memory_order_release);
}

}  // namespace skjold::proxy
