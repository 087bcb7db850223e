#include "proxy/tls_runtime.hh"

#include <string>
#include <utility>

#include "core/log.hh"

namespace skjold::proxy {

core::Result<std::shared_ptr<TlsShared>> create_tls_shared(const conf::Snapshot& snap) {
    auto entries = static_cast<std::size_t>(snap.global.ssl_cachesize > 0 ? snap.global.ssl_cachesize : 0);
    auto s = TlsShared::create(entries);
    if (!s) return core::Unexpected{s.error()};
    return std::shared_ptr<TlsShared>(std::move(*s));
}

core::Result<std::shared_ptr<TlsGeneration>> build_tls_for_run(const conf::Snapshot& snap, TlsShared& shared,
                                                               unsigned nworkers) {
    auto loaded = load_tls_config(snap);
    if (!loaded.errors.empty() || !loaded.config) {
        std::string msg;
        for (const auto& e : loaded.errors) {
            if (!msg.empty()) msg += "; ";
            msg += e.str();
        }
        return core::fail(core::Errc::invalid_argument, msg.empty() ? "TLS configuration could not be loaded" : msg);
    }
    auto gen = std::make_shared<TlsGeneration>();
    gen->config = std::move(loaded.config);
    if (gen->config->binds.empty() && gen->config->servers.empty()) return gen;
    for (unsigned w = 0; w < nworkers; ++w) {
        auto tw = TlsWorker::build(gen->config, shared);
        if (!tw) return core::Unexpected{tw.error()};
        gen->workers.push_back(std::move(*tw));
    }
    return gen;
}

TlsKeyRotation::TlsKeyRotation(std::shared_ptr<TlsShared> shared, std::int64_t lifetime_ms, std::uint64_t now_ms) noexcept
    : shared_(std::move(shared)),
      interval_ms_(TlsTicketKeys::rotation_interval_ms(lifetime_ms)),
      next_ms_(now_ms + static_cast<std::uint64_t>(interval_ms_)) {}

bool TlsKeyRotation::rotate_if_due(std::uint64_t now_ms) noexcept {
    if (!shared_ || now_ms < next_ms_) return false;
    next_ms_ = now_ms + static_cast<std::uint64_t>(interval_ms_);
    if (!shared_->ticket_keys().rotate()) {
        SKJOLD_LOG(err, "TLS ticket keys: the random generator failed; the current key stays");
        return false;
    }
    SKJOLD_LOG(debug, "TLS ticket keys rotated (every {} ms)", interval_ms_);
    return true;
}

}  // namespace skjold::proxy
