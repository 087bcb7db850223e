#pragma once
// The TLS state of a running process (owner: the control thread builds it; workers read it).
//
// - TlsShared (tls_context.hh: ticket keys and the session cache) lives as long as the process:
//   create_tls_shared() once at start. A reload keeps it, so tickets issued and sessions cached
//   before a reload still resume after it.
// - TlsGeneration: one TlsWorker (that worker's own SSL_CTXs, see tls_context.hh for why not
//   shared) per worker, built from one configuration by build_tls_for_run() and kept in that
//   generation's Shared::tls. Sessions that started on a generation finish on its contexts;
//   the generation frees them once its last session has ended.
// - TlsKeyRotation: the control loop calls rotate_if_due() (every loop turn is fine); a ticket
//   key is replaced every tune.ssl.lifetime / 2, so a ticket stays valid 1..1.5 lifetimes.

#include <cstdint>
#include <memory>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_context.hh"

namespace skjold::proxy {

struct TlsGeneration {
    std::shared_ptr<const TlsConfig> config;
    std::vector<std::unique_ptr<TlsWorker>> workers;   // by worker index; empty: no TLS line

    // Worker `w`'s contexts, or null when this configuration has no `ssl` line at all.
    TlsWorker* worker(unsigned w) const noexcept { return w < workers.size() ? workers[w].get() : nullptr; }
};

// Start: the process-lived keys and cache (tune.ssl.cachesize of this first configuration; a
// reload cannot resize a cache the workers are using).
core::Result<std::shared_ptr<TlsShared>> create_tls_shared(const conf::Snapshot& snap);

// Start and every reload: reads every crt/ca-file of `snap` and builds one TlsWorker per
// worker. Errors say FILE:LINE of the bind/server line and name the PEM; on reload a failure
// keeps the running configuration. A configuration without TLS gives an empty generation.
core::Result<std::shared_ptr<TlsGeneration>> build_tls_for_run(const conf::Snapshot& snap, TlsShared& shared,
                                                               unsigned nworkers);

class TlsKeyRotation {
public:
    // `lifetime_ms`: tune.ssl.lifetime of the first configuration; `now_ms`: monotonic.
    TlsKeyRotation(std::shared_ptr<TlsShared> shared, std::int64_t lifetime_ms, std::uint64_t now_ms) noexcept;
    // Control thread only (TlsTicketKeys has one writer). True when a key was replaced.
    bool rotate_if_due(std::uint64_t now_ms) noexcept;
    std::int64_t interval_ms() const noexcept { return interval_ms_; }

private:
    std::shared_ptr<TlsShared> shared_;
    std::int64_t interval_ms_;
    std::uint64_t next_ms_;
};

}  // namespace skjold::proxy
