#pragma once
// Server selection for one backend on one worker (`balance` in CONFIG.md).
//
// Owner: one worker thread. There is one Balancer per backend per worker and per Snapshot; it is
// never shared, so it has no lock and no atomic read-modify-write. It reads health::BackendState
// (written by the control thread) only to rebuild its view of the usable servers, and only when
// the backend's generation moved: pick() starts with one acquire load and a compare.
//
// What "per worker" makes approximate across cores (HAProxy shares these between its threads):
// - roundrobin / static-rr: each worker runs its own cursor, so proportions hold per worker and
//   therefore overall, but the interleaving is not global. Workers start at different offsets so
//   that N workers do not all send their first connection to the same server.
// - leastconn, random (two choices) and first count only this worker's connections.
// - server maxconn: each worker enforces its share, maxconn / nworkers, the remainder going to the
//   lowest worker indexes, at least 1 each. A worker may find a server full while another still
//   has room; the total never exceeds max(maxconn, nworkers).
// - There is no queue: when every candidate is full, pick() returns -1 (HAProxy would queue the
//   request for `timeout queue`); the caller refuses or answers 503.
// `source` does not depend on the worker: the same usable set gives the same map everywhere, so
// an address reaches the same server whichever core accepted it.
//
// Weights are the effective ones (health::ServerState::weight()): a server in slowstart is a
// candidate at its ramped weight, which the checker thread moves in steps (each step moves the
// generation, so roundrobin, leastconn and random follow it); static-rr and source keep full
// weights, as HAProxy's static algorithms. A stopping (NOLB), DRAIN or MAINT server is no candidate.
//
// Backups (CONFIG.md): backup servers are candidates only when no non-backup server is usable;
// then only the first usable backup in declaration order, unless `option allbackups`.
// A disabled backend has no candidate.
//
// Memory: the constructor reserves everything a rebuild needs (the static-rr/source map holds up
// to kMaxWeight slots per server), so neither pick() nor a rebuild allocates. A rebuild costs
// O(servers) for roundrobin/leastconn/first/random and O(map slots x servers) for static-rr and
// source (as HAProxy's map recalculation); it runs only when a server changes state.

#include <cstdint>
#include <vector>

#include "conf/snapshot_types.hh"
#include "geo/address.hh"
#include "health/server_state.hh"

namespace skjold::proxy {

class Balancer {
public:
    // `backend` and `state` must outlive the Balancer (both belong to the same Snapshot).
    // worker_index in 0..nworkers-1.
    Balancer(const conf::Proxy& backend, const health::BackendState& state, unsigned worker_index,
             unsigned nworkers);
    Balancer(const Balancer&) = delete;
    Balancer& operator=(const Balancer&) = delete;

    // A server index (into conf::Proxy::servers), or -1 when no server is usable or every usable
    // one is full. `avoid` (or -1): a server to skip if another candidate exists (redispatch after
    // a failed connect). Does not count the connection: call on_connect() once it is attempted.
    int pick(const geo::IpAddr& client, int avoid = -1) noexcept;

    // Rebuilds the candidate set if the backend's generation moved; true if it did.
    // pick() calls it; exposed for tests and for a worker that wants to refresh between batches.
    bool refresh() noexcept;

    void on_connect(int server) noexcept;   // active connections +1
    void on_release(int server) noexcept;   // active connections -1
    std::uint32_t active(int server) const noexcept;
    // This worker's share of the server's maxconn is used up (never with maxconn 0).
    bool full(int server) const noexcept;
    std::uint32_t maxconn_share(int server) const noexcept;   // 0 = unlimited

    // Candidates of the current view (after the backup rule), in declaration order.
    int candidates() const noexcept { return static_cast<int>(set_.size()); }
    conf::Balance algorithm() const noexcept { return algo_; }

private:
    void rebuild() noexcept;
    void build_map() noexcept;
    bool eligible(int s, int avoid) const noexcept { return s != avoid && !full(s); }
    bool avoid_fallback(int avoid) const noexcept;

    int pick_roundrobin(int avoid) noexcept;
    int pick_static_rr(int avoid) noexcept;
    int pick_leastconn(int avoid) noexcept;
    int pick_source(const geo::IpAddr& client, int avoid) noexcept;
    int pick_first(int avoid) noexcept;
    int pick_random(int avoid) noexcept;
    int draw_weighted(int avoid) noexcept;
    std::uint64_t next_random() noexcept;

    const health::BackendState& state_;
    const conf::Balance algo_;
    const unsigned worker_, nworkers_;
    std::uint64_t seen_generation_ = 0;   // 0: never built (generations start at 1)

    // Per server (conf order), fixed size.
    std::vector<std::uint32_t> active_;
    std::vector<std::uint32_t> share_;    // per-worker maxconn share, 0 = unlimited
    std::vector<std::int32_t> weight_;    // weight seen at the last rebuild
    std::vector<std::int64_t> current_;   // smooth weighted round-robin state
    std::vector<std::uint8_t> in_set_;

    // The current view, rebuilt on a generation change; capacity reserved up front.
    std::vector<int> set_;                // candidate servers, declaration order
    std::vector<std::uint64_t> cumulative_;   // random: running weight sums over set_
    std::vector<int> map_;                // static-rr / source: weighted slot -> server
    std::uint32_t cursor_ = 0;            // static-rr map slot / leastconn set position
    std::uint32_t rr_offset_ = 0;         // roundrobin: where this worker breaks ties first
    std::uint64_t rng_;                   // xorshift64* state, never 0
};

}  // namespace skjold::proxy
