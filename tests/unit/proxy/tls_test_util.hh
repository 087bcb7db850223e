#pragma once
// The tls unit tests' fixtures: a PKI generated once per test process (tls_test_peer.hh has
// the generator and the in-memory client), TlsConfig from configuration text, a worker's server side.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conf/loader.hh"
#include "proxy/tls_config.hh"
#include "proxy/tls_conn.hh"
#include "proxy/tls_context.hh"
#include "tls_test_peer.hh"

namespace skjold::test {

// A TlsConfig from configuration text (fails the test on any error).
inline std::shared_ptr<const proxy::TlsConfig> tls_config(const std::string& text) {
    auto loaded = conf::load_string(text, "t.cfg");
    std::string errs;
    for (const auto& e : loaded.errors) errs += e.str() + "\n";
    INFO("conf errors:\n" << errs);
    REQUIRE(loaded.snapshot != nullptr);
    auto r = proxy::load_tls_config(*loaded.snapshot);
    errs.clear();
    for (const auto& e : r.errors) errs += e.str() + "\n";
    INFO("tls errors:\n" << errs);
    REQUIRE(r.config != nullptr);
    return r.config;
}

inline std::string frontend(const std::string& bind_opts, const std::string& global = "") {
    return "global\n" + global + "defaults\n  mode tcp\n  timeout client 1s\n  timeout server 1s\n"
           "  timeout connect 1s\nfrontend fe\n  bind 127.0.0.1:0 ssl " + bind_opts + "\n  default_backend be\n"
           "backend be\n  server s1 127.0.0.1:9\n";
}

// One worker's server side: config + shared state + context.
struct Server {
    std::shared_ptr<const proxy::TlsConfig> cfg;
    std::shared_ptr<proxy::TlsShared> shared;
    std::unique_ptr<proxy::TlsContext> ctx;

    explicit Server(const std::string& text, std::shared_ptr<proxy::TlsShared> sh = nullptr) {
        cfg = tls_config(text);
        if (!sh) {
            auto s = proxy::TlsShared::create(cfg->cache_entries);
            REQUIRE(s);
            sh = std::shared_ptr<proxy::TlsShared>(std::move(*s));
        }
        shared = sh;
        REQUIRE(!cfg->binds.empty());
        auto c = proxy::TlsContext::create(cfg->binds[0], *cfg, shared.get());
        INFO((c ? "" : c.error().detail));
        REQUIRE(c);
        ctx = std::move(*c);
    }
    // A second worker on the same configuration and shared state.
    std::unique_ptr<proxy::TlsContext> another_worker() const {
        auto c = proxy::TlsContext::create(cfg->binds[0], *cfg, shared.get());
        REQUIRE(c);
        return std::move(*c);
    }
};

}  // namespace skjold::test
