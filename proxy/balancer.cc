#include "proxy/balancer.hh"

#include "core/assert.hh"

#include <algorithm>
#include <numeric>

namespace skjold::proxy {

namespace {

std::uint32_t worker_share(int maxconn, unsigned worker, unsigned nworkers) noexcept {
    if (maxconn <= 0) return 0;
    const auto m = static_cast<std::uint32_t>(maxconn);
    const std::uint32_t share = m / nworkers + (worker < m % nworkers ? 1u : 0u);
    return std::max<std::uint32_t>(share, 1);
}

// HAProxy's source hash for map-based lookups: the IPv4 address itself, or the XOR of the four
// 32-bit words of an IPv6 address. Read from the bytes so no geo/ code is needed here.
std::uint32_t source_hash(const geo::IpAddr& a) noexcept {
    auto word = [&](int i) {
        const auto* p = &a.b[static_cast<std::size_t>(4 * i)];
        return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    };
    const bool v4 = word(0) == 0 && word(1) == 0 && word(2) == 0xffffu;
    if (v4) return word(3);
    return word(0) ^ word(1) ^ word(2) ^ word(3);
}

// leastconn order, as HAProxy's fwlc key: an idle server has key 0 (so idle servers are picked
// first whatever their weight), otherwise (conns + 1) / weight. True if a sorts before b.
bool less_loaded(std::uint32_t ca, std::int32_t wa, std::uint32_t cb, std::int32_t wb) noexcept {
    if (ca == 0 || cb == 0) return ca == 0 && cb != 0;
    return (std::uint64_t{ca} + 1) * static_cast<std::uint64_t>(wb) <
           (std::uint64_t{cb} + 1) * static_cast<std::uint64_t>(wa);
}

}  // namespace

Balancer::Balancer(const conf::Proxy& backend, const health::BackendState& state, unsigned worker_index,
                   unsigned nworkers)
    : state_(state),
      algo_(backend.balance),
      worker_(nworkers == 0 ? 0 : worker_index % nworkers),
      nworkers_(nworkers == 0 ? 1 : nworkers),
      rng_(0x9e3779b97f4a7c15ull * (std::uint64_t{worker_index} + 1) ^ 0xd1b54a32d192ed03ull) {
    const std::size_t n = backend.servers.size();
    SKJOLD_CHECK(static_cast<std::size_t>(state.size()) == n, "Balancer: backend and state differ");
    active_.assign(n, 0);
    share_.resize(n);
    for (std::size_t i = 0; i < n; ++i) share_[i] = worker_share(backend.servers[i].opt.maxconn, worker_, nworkers_);
    weight_.assign(n, 0);
    current_.assign(n, 0);
    in_set_.assign(n, 0);
    set_.reserve(n);
    if (algo_ == conf::Balance::random) cumulative_.reserve(n);
    if (algo_ == conf::Balance::static_rr || algo_ == conf::Balance::source)
        map_.reserve(n * static_cast<std::size_t>(health::kMaxWeight));
    if (rng_ == 0) rng_ = 1;
    refresh();
}

bool Balancer::refresh() noexcept {
    const std::uint64_t g = state_.generation();
    if (g == seen_generation_) return false;
    // Read the generation first: a change made during the rebuild moves it again and the next
    // refresh() rebuilds once more, so the view never stays behind the last change.
    rebuild();
    seen_generation_ = g;
    return true;
}

void Balancer::rebuild() noexcept {
    set_.clear();
    std::fill(in_set_.begin(), in_set_.end(), 0);
    const int n = state_.size();
    for (int i = 0; i < n; ++i) weight_[static_cast<std::size_t>(i)] = state_.server(i).weight();

    // The weight is read once above; a candidate must also have that snapshot > 0, in case the
    // control thread changes the weight while this loop runs (the generation catches up later).
    auto candidate = [&](int i) {
        return health::usable(state_.server(i)) && weight_[static_cast<std::size_t>(i)] > 0;
    };
    if (!state_.disabled()) {
        for (int i = 0; i < n; ++i)
            if (!state_.server(i).backup() && candidate(i)) set_.push_back(i);
        if (set_.empty()) {
            for (int i = 0; i < n; ++i) {
                if (!state_.server(i).backup() || !candidate(i)) continue;
                set_.push_back(i);
                if (!state_.allbackups()) break;   // only the first usable backup
            }
        }
    }
    for (int s : set_) in_set_[static_cast<std::size_t>(s)] = 1;

    const auto m = static_cast<std::uint32_t>(set_.size());
    std::fill(current_.begin(), current_.end(), 0);
    cursor_ = 0;
    rr_offset_ = m == 0 ? 0 : static_cast<std::uint32_t>(std::uint64_t{worker_} * m / nworkers_);
    switch (algo_) {
    case conf::Balance::static_rr:
    case conf::Balance::source:
        build_map();
        if (algo_ == conf::Balance::static_rr && !map_.empty())
            cursor_ = static_cast<std::uint32_t>(std::uint64_t{worker_} * map_.size() / nworkers_);
        break;
    case conf::Balance::random: {
        cumulative_.clear();
        std::uint64_t sum = 0;
        for (int s : set_) cumulative_.push_back(sum += static_cast<std::uint64_t>(weight_[static_cast<std::size_t>(s)]));
        break;
    }
    case conf::Balance::leastconn:
        cursor_ = rr_offset_;
        break;
    case conf::Balance::roundrobin:
    case conf::Balance::first:
        break;
    }
}

// The map holds each candidate as many times as its weight (divided by the weights' gcd), spread
// in smooth weighted round-robin order: deterministic, proportional, interleaved (HAProxy's
// map-based static-rr and hashing work the same way).
void Balancer::build_map() noexcept {
    map_.clear();
    if (set_.empty()) return;
    std::int32_t g = 0;
    for (int s : set_) g = std::gcd(g, weight_[static_cast<std::size_t>(s)]);
    std::int64_t total = 0;
    for (int s : set_) total += weight_[static_cast<std::size_t>(s)] / g;
    for (std::int64_t slot = 0; slot < total; ++slot) {
        int best = -1;
        for (int s : set_) {
            auto& cur = current_[static_cast<std::size_t>(s)];
            cur += weight_[static_cast<std::size_t>(s)] / g;
            if (best < 0 || cur > current_[static_cast<std::size_t>(best)]) best = s;
        }
        current_[static_cast<std::size_t>(best)] -= total;
        map_.push_back(best);
    }
    std::fill(current_.begin(), current_.end(), 0);
}

int Balancer::pick(const geo::IpAddr& client, int avoid) noexcept {
    refresh();
    if (set_.empty()) return -1;
    switch (algo_) {
    case conf::Balance::roundrobin: return pick_roundrobin(avoid);
    case conf::Balance::static_rr: return pick_static_rr(avoid);
    case conf::Balance::leastconn: return pick_leastconn(avoid);
    case conf::Balance::source: return pick_source(client, avoid);
    case conf::Balance::first: return pick_first(avoid);
    case conf::Balance::random: return pick_random(avoid);
    }
    return -1;
}

bool Balancer::avoid_fallback(int avoid) const noexcept {
    return avoid >= 0 && static_cast<std::size_t>(avoid) < in_set_.size() &&
           in_set_[static_cast<std::size_t>(avoid)] && !full(avoid);
}

// Smooth weighted round-robin (nginx): every candidate gains its weight, the highest is chosen
// and loses the total. Full or avoided servers sit out the round without gaining, so they do not
// come back with a burst. Ties go to the first in this worker's rotated order.
int Balancer::pick_roundrobin(int avoid) noexcept {
    const auto m = static_cast<std::uint32_t>(set_.size());
    int best = -1;
    std::int64_t total = 0;
    for (std::uint32_t j = 0, pos = rr_offset_; j < m; ++j, pos = pos + 1 == m ? 0 : pos + 1) {
        const int s = set_[pos];
        if (!eligible(s, avoid)) continue;
        const auto w = weight_[static_cast<std::size_t>(s)];
        auto& cur = current_[static_cast<std::size_t>(s)];
        cur += w;
        total += w;
        if (best < 0 || cur > current_[static_cast<std::size_t>(best)]) best = s;
    }
    if (best < 0) return avoid_fallback(avoid) ? avoid : -1;
    current_[static_cast<std::size_t>(best)] -= total;
    return best;
}

int Balancer::pick_static_rr(int avoid) noexcept {
    const auto size = static_cast<std::uint32_t>(map_.size());
    for (std::uint32_t j = 0; j < size; ++j) {
        const int s = map_[cursor_];
        cursor_ = cursor_ + 1 == size ? 0 : cursor_ + 1;
        if (eligible(s, avoid)) return s;
    }
    return avoid_fallback(avoid) ? avoid : -1;
}

// The least loaded candidate (HAProxy's key, see less_loaded); equal keys go round-robin
// because the scan starts after the previous choice.
int Balancer::pick_leastconn(int avoid) noexcept {
    const auto m = static_cast<std::uint32_t>(set_.size());
    int best = -1;
    std::uint32_t best_pos = 0;
    for (std::uint32_t j = 0, pos = cursor_; j < m; ++j, pos = pos + 1 == m ? 0 : pos + 1) {
        const int s = set_[pos];
        if (!eligible(s, avoid)) continue;
        const auto i = static_cast<std::size_t>(s);
        if (best < 0 || less_loaded(active_[i], weight_[i], active_[static_cast<std::size_t>(best)],
                                    weight_[static_cast<std::size_t>(best)])) {
            best = s;
            best_pos = pos;
        }
    }
    if (best < 0) return avoid_fallback(avoid) ? avoid : -1;
    cursor_ = best_pos + 1 == m ? 0 : best_pos + 1;
    return best;
}

// The address selects a map slot (HAProxy: hash % total weight). If that server is full or to be
// avoided, the next slots are tried in order, so the choice stays a function of the address and
// of which servers are full.
int Balancer::pick_source(const geo::IpAddr& client, int avoid) noexcept {
    const auto size = static_cast<std::uint32_t>(map_.size());
    for (std::uint32_t j = 0, slot = source_hash(client) % size; j < size;
         ++j, slot = slot + 1 == size ? 0 : slot + 1) {
        const int s = map_[slot];
        if (eligible(s, avoid)) return s;
    }
    return avoid_fallback(avoid) ? avoid : -1;
}

int Balancer::pick_first(int avoid) noexcept {
    for (int s : set_)
        if (eligible(s, avoid)) return s;
    return avoid_fallback(avoid) ? avoid : -1;
}

// HAProxy's `random(2)`: two draws proportional to weight, keep the less loaded (conns/weight;
// on a tie the second draw).
int Balancer::pick_random(int avoid) noexcept {
    const int a = draw_weighted(avoid);
    if (a < 0) return avoid_fallback(avoid) ? avoid : -1;
    const int b = draw_weighted(avoid);
    const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
    if (std::uint64_t{active_[ib]} * static_cast<std::uint64_t>(weight_[ia]) >
        std::uint64_t{active_[ia]} * static_cast<std::uint64_t>(weight_[ib]))
        return a;
    return b;
}

// One weighted draw over the candidates; a full or avoided draw moves on to the next eligible
// candidate in order. -1 if none is eligible.
int Balancer::draw_weighted(int avoid) noexcept {
    const std::uint64_t total = cumulative_.back();
    // r uniform in [0, total) by multiply-shift instead of a division; total is below 2^32
    // (at most kMaxWeight per server).
    const std::uint64_t r = ((next_random() >> 32) * total) >> 32;
    const auto m = static_cast<std::uint32_t>(set_.size());
    auto pos = static_cast<std::uint32_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin());
    for (std::uint32_t j = 0; j < m; ++j, pos = pos + 1 == m ? 0 : pos + 1) {
        const int s = set_[pos];
        if (eligible(s, avoid)) return s;
    }
    return -1;
}

std::uint64_t Balancer::next_random() noexcept {
    // xorshift64*: a few cycles, per worker, no lock; quality is ample for spreading load.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545f4914f6cdd1dull;
}

void Balancer::on_connect(int server) noexcept {
    if (server < 0 || static_cast<std::size_t>(server) >= active_.size()) return;
    ++active_[static_cast<std::size_t>(server)];
}

void Balancer::on_release(int server) noexcept {
    if (server < 0 || static_cast<std::size_t>(server) >= active_.size()) return;
    auto& a = active_[static_cast<std::size_t>(server)];
    if (a > 0) --a;
}

std::uint32_t Balancer::active(int server) const noexcept {
    if (server < 0 || static_cast<std::size_t>(server) >= active_.size()) return 0;
    return active_[static_cast<std::size_t>(server)];
}

bool Balancer::full(int server) const noexcept {
    if (server < 0 || static_cast<std::size_t>(server) >= active_.size()) return true;
    const auto i = static_cast<std::size_t>(server);
    return share_[i] != 0 && active_[i] >= share_[i];
}

std::uint32_t Balancer::maxconn_share(int server) const noexcept {
    if (server < 0 || static_cast<std::size_t>(server) >= share_.size()) return 0;
    return share_[static_cast<std::size_t>(server)];
}

}  // namespace skjold::proxy
