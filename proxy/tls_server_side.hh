#pragma once
// TLS to servers (`server ... ssl`): the client contexts one worker uses for one configuration
// generation, found by (backend, server) in O(1) on the connect path.
//
// Owner: built on the control thread with the generation (build_server_tls), then used by one
// worker only (its TlsClientContexts keep each server's last session for resumption, which is
// why there is one set per worker, as HAProxy keeps one per server and thread). Freed with the
// generation, after the worker's last connection made from it has closed.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_context.hh"

namespace skjold::proxy {

class TlsServerSide {
public:
    // One worker's contexts for every server with `ssl` in `cfg` (check-ssl alone is the
    // checker's business: no context). `cfg` is kept alive by the set.
    static core::Result<std::unique_ptr<TlsServerSide>> build(const conf::Snapshot& snap,
                                                              std::shared_ptr<const TlsConfig> cfg);
    // The same table over the client contexts of a worker's TlsWorker (tls_runtime.hh), which
    // must outlive the set (both live in the generation's Shared).
    static std::unique_ptr<TlsServerSide> over(const conf::Snapshot& snap, TlsWorker& worker);

    // Data path: the context of server `server` of `backend`, null when it has no `ssl`.
    TlsClientContext* context(int backend, int server) noexcept {
        if (backend < 0 || static_cast<std::size_t>(backend) >= by_proxy_.size()) return nullptr;
        const auto& v = by_proxy_[static_cast<std::size_t>(backend)];
        return server >= 0 && static_cast<std::size_t>(server) < v.size() ? v[static_cast<std::size_t>(server)] : nullptr;
    }
    // The SNI to send: `sni str(NAME)`'s NAME; empty when the server has no `sni` (no SNI is
    // sent and, as in HAProxy, only the chain is verified).
    static std::string_view sni(const TlsClientContext& ctx) noexcept { return ctx.config().sni_literal; }

private:
    std::shared_ptr<const TlsConfig> cfg_;
    std::vector<std::unique_ptr<TlsClientContext>> owned_;
    std::vector<std::vector<TlsClientContext*>> by_proxy_;   // [proxy][server]
};

// Fills shared.server_tls: one TlsServerSide per worker, over shared.tls's TlsWorkers when
// build_tls_for_run() made them (call it after), else built from `cfg` or, without one, from
// a configuration loaded here (ca-files are read: control thread). An error names the line.
struct Shared;
core::Result<void> build_server_tls(Shared& shared, std::shared_ptr<const TlsConfig> cfg = nullptr);

}  // namespace skjold::proxy
