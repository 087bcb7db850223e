#include "proxy/tls_server_side.hh"

#include "proxy/shared.hh"
#include "proxy/tls_runtime.hh"

namespace skjold::proxy {

core::Result<std::unique_ptr<TlsServerSide>> TlsServerSide::build(const conf::Snapshot& snap,
                                                                  std::shared_ptr<const TlsConfig> cfg) {
    auto set = std::make_unique<TlsServerSide>();
    set->by_proxy_.resize(snap.proxies.size());
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) set->by_proxy_[p].resize(snap.proxies[p].servers.size(), nullptr);
    for (const auto& s : cfg->servers) {
        if (s.proxy < 0 || static_cast<std::size_t>(s.proxy) >= snap.proxies.size()) continue;
        const auto& px = snap.proxies[static_cast<std::size_t>(s.proxy)];
        if (s.server < 0 || static_cast<std::size_t>(s.server) >= px.servers.size()) continue;
        if (!px.servers[static_cast<std::size_t>(s.server)].opt.ssl) continue;   // check-ssl only
        auto c = TlsClientContext::create(s);
        if (!c) return core::fail(c.error().code, s.loc.str() + ": " + s.label + ": " + c.error().detail);
        set->by_proxy_[static_cast<std::size_t>(s.proxy)][static_cast<std::size_t>(s.server)] = c->get();
        set->owned_.push_back(std::move(*c));
    }
    set->cfg_ = std::move(cfg);
    return set;
}

std::unique_ptr<TlsServerSide> TlsServerSide::over(const conf::Snapshot& snap, TlsWorker& worker) {
    auto set = std::make_unique<TlsServerSide>();
    set->by_proxy_.resize(snap.proxies.size());
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
        const auto& servers = snap.proxies[p].servers;
        set->by_proxy_[p].resize(servers.size(), nullptr);
        for (std::size_t s = 0; s < servers.size(); ++s)
            if (servers[s].opt.ssl) set->by_proxy_[p][s] = worker.server(static_cast<int>(p), static_cast<int>(s));
    }
    return set;
}

core::Result<void> build_server_tls(Shared& shared, std::shared_ptr<const TlsConfig> cfg) {
    shared.server_tls.clear();
    const conf::Snapshot& snap = *shared.snap;
    bool any = false;
    for (const auto& px : snap.proxies)
        for (const auto& sv : px.servers) any = any || sv.opt.ssl;
    if (!any) return {};
    if (shared.tls && shared.tls->workers.size() >= shared.nworkers) {
        for (unsigned w = 0; w < shared.nworkers; ++w) shared.server_tls.push_back(TlsServerSide::over(snap, *shared.tls->workers[w]));
        return {};
    }
    if (!cfg) {
        TlsLoadResult r = load_tls_config(snap);
        if (!r.config) {
            std::string msg;
            for (const auto& e : r.errors) msg += (msg.empty() ? "" : "; ") + e.str();
            return core::fail(core::Errc::invalid_argument, msg);
        }
        cfg = std::move(r.config);
    }
    for (unsigned w = 0; w < shared.nworkers; ++w) {
        auto set = TlsServerSide::build(snap, cfg);
        if (!set) return core::fail(set.error().code, set.error().detail);
        shared.server_tls.push_back(std::move(*set));
    }
    return {};
}

}  // namespace skjold::proxy
