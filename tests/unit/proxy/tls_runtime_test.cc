// The per-run TLS set-up (proxy/tls_runtime.hh): one TlsWorker per worker from a configuration,
// errors with FILE:LINE, and ticket-key rotation on the control loop's clock.
#include <doctest/doctest.h>

#include <cstring>

#include "proxy/tls_runtime.hh"
#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;
using test::Pki;

namespace {

std::shared_ptr<const conf::Snapshot> snapshot_of(const std::string& text) {
    auto loaded = conf::load_string(text, "t.cfg");
    REQUIRE(loaded.snapshot != nullptr);
    return loaded.snapshot;
}

const std::string kHead = "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n";

}  // namespace

TEST_CASE("build_tls_for_run gives each worker its own contexts for every bind ... ssl") {
    auto snap = snapshot_of(kHead + "frontend fe\n    bind 127.0.0.1:0\n    bind 127.0.0.1:0 ssl crt " + Pki::get().dir +
                            "\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n");
    auto shared = create_tls_shared(*snap);
    REQUIRE(shared);
    auto gen = build_tls_for_run(*snap, **shared, 3);
    REQUIRE(gen);
    REQUIRE((*gen)->workers.size() == 3);
    CHECK((*gen)->worker(3) == nullptr);
    CHECK((*gen)->worker(0)->bind(0, 0) == nullptr);      // the plain bind has none
    TlsContext* c0 = (*gen)->worker(0)->bind(0, 1);
    TlsContext* c1 = (*gen)->worker(1)->bind(0, 1);
    REQUIRE(c0 != nullptr);
    REQUIRE(c1 != nullptr);
    CHECK(c0 != c1);
    CHECK(c0->group_ctx(0) != c1->group_ctx(0));           // no SSL_CTX shared between workers
}

TEST_CASE("a configuration without TLS builds an empty generation; a broken PEM is an error naming FILE:LINE") {
    auto plain = snapshot_of(kHead + "frontend fe\n    bind 127.0.0.1:0\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n");
    auto shared = create_tls_shared(*plain);
    REQUIRE(shared);
    auto none = build_tls_for_run(*plain, **shared, 2);
    REQUIRE(none);
    CHECK((*none)->workers.empty());
    CHECK((*none)->worker(0) == nullptr);

    std::string bad = Pki::get().root + "/broken.pem";
    test::write_file(bad, "not a certificate\n");
    auto broken = snapshot_of(kHead + "frontend fe\n    bind 127.0.0.1:0 ssl crt " + bad +
                              "\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n");
    auto r = build_tls_for_run(*broken, **shared, 2);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("t.cfg:7:") == 0);
    CHECK(r.error().detail.find(bad) != std::string::npos);
}

TEST_CASE("ticket keys rotate every half tune.ssl.lifetime and the previous key still decrypts") {
    auto snap = snapshot_of(kHead + "frontend fe\n    bind 127.0.0.1:0\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n");
    auto shared = create_tls_shared(*snap);
    REQUIRE(shared);
    std::shared_ptr<TlsShared> sh = *shared;
    TlsKeyRotation rot(sh, 300000, 1000);
    CHECK(rot.interval_ms() == 150000);
    TlsTicketKeys::Key first{}, now{};
    REQUIRE(sh->ticket_keys().current(first));
    CHECK_FALSE(rot.rotate_if_due(1000 + 149999));
    REQUIRE(sh->ticket_keys().current(now));
    CHECK(std::memcmp(now.name, first.name, sizeof now.name) == 0);
    CHECK(rot.rotate_if_due(1000 + 150000));
    REQUIRE(sh->ticket_keys().current(now));
    CHECK(std::memcmp(now.name, first.name, sizeof now.name) != 0);
    TlsTicketKeys::Key old{};
    bool is_current = true;
    CHECK(sh->ticket_keys().find(first.name, old, is_current));
    CHECK_FALSE(is_current);
    CHECK_FALSE(rot.rotate_if_due(1000 + 150001));         // the next one is due a full interval later
    CHECK(rot.rotate_if_due(1000 + 300000));
}
