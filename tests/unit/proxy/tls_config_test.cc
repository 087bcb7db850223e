// Certificate loading with HAProxy's PEM rules, SNI index, option checks at load.
#include <doctest/doctest.h>

#include "tls_test_util.hh"

using namespace skjold;
using namespace skjold::proxy;
using test::Pki;

namespace {

std::string errors_of(const std::string& text) {
    auto loaded = conf::load_string(text, "t.cfg");
    REQUIRE(loaded.snapshot != nullptr);
    auto r = load_tls_config(*loaded.snapshot);
    CHECK((r.config == nullptr) == !r.errors.empty());
    std::string s;
    for (const auto& e : r.errors) s += e.str() + "\n";
    return s;
}

}  // namespace

TEST_CASE("a PEM with certificate, chain and key loads, named by its CN and SANs") {
    PemError err;
    auto c = load_pem_file(Pki::get().a_file, err);
    INFO(err.message);
    REQUIRE(c);
    CHECK(c->kind == KeyKind::ecdsa);
    CHECK(sk_X509_num(c->chain.get()) == 1);
    CHECK(c->names == std::vector<std::string>{"a.test", "www.a.test"});
    auto r = load_pem_file(Pki::get().rsa_file, err);
    REQUIRE(r);
    CHECK(r->kind == KeyKind::rsa);
}

TEST_CASE("a PEM without its key takes the key from FILE.key, as HAProxy") {
    auto& pki = Pki::get();
    auto key = test::ec_key();
    X509Ptr leaf = test::make_cert(key.get(), "split.test", {"split.test"}, pki.ca.get(), pki.ca_key.get(), false);
    std::string path = pki.root + "/split.pem";
    test::write_file(path, test::pem_of(leaf.get()));
    PemError err;
    CHECK(load_pem_file(path, err) == nullptr);
    CHECK(err.message == "no private key in '" + path + "' nor in '" + path + ".key'");
    test::write_file(path + ".key", test::pem_of(key.get()));
    err = {};
    auto c = load_pem_file(path, err);
    INFO(err.message);
    CHECK(c != nullptr);
}

TEST_CASE("a key before the certificate is fine; a key of another certificate is not") {
    auto& pki = Pki::get();
    auto key = test::ec_key(), other = test::ec_key();
    X509Ptr leaf = test::make_cert(key.get(), "k.test", {}, pki.ca.get(), pki.ca_key.get(), false);
    std::string good = pki.root + "/keyfirst.pem", bad = pki.root + "/mismatch.pem";
    test::write_file(good, test::pem_of(key.get()) + test::pem_of(leaf.get()));
    test::write_file(bad, test::pem_of(leaf.get()) + test::pem_of(other.get()));
    PemError err;
    auto c = load_pem_file(good, err);
    INFO(err.message);
    REQUIRE(c);
    CHECK(c->names == std::vector<std::string>{"k.test"});   // CN only: no SAN
    CHECK(load_pem_file(bad, err) == nullptr);
    CHECK(err.message == "the private key in '" + bad + "' does not match its certificate");
}

TEST_CASE("a broken or missing PEM is an error at load with FILE:LINE of the bind naming the PEM") {
    auto& pki = Pki::get();
    std::string broken = pki.root + "/broken.pem";
    test::write_file(broken, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
    std::string e = errors_of(test::frontend("crt " + broken));
    CHECK(e.starts_with("t.cfg:8: bind '127.0.0.1:0' of 'fe': crt: cannot parse the certificate in '" + broken + "'"));
    std::string empty = pki.root + "/empty.pem";
    test::write_file(empty, "");
    CHECK(errors_of(test::frontend("crt " + empty)) ==
          "t.cfg:8: bind '127.0.0.1:0' of 'fe': crt: no certificate in '" + empty + "'\n");
    PemError err;
    CHECK(load_pem_file(pki.root + "/nope.pem", err) == nullptr);
    CHECK(err.message == "cannot open '" + pki.root + "/nope.pem': No such file or directory");
}

TEST_CASE("a crt directory loads its files alphabetically, skipping dot files and HAProxy's reserved extensions") {
    auto& pki = Pki::get();
    std::string d = pki.root + "/listing";
    std::filesystem::create_directory(d);
    for (const char* n : {"b.pem", "a.crt", ".hidden.pem", "x.key", "x.issuer", "x.ocsp", "x.sctl", "c"})
        test::write_file(d + "/" + n, "");
    std::filesystem::create_directory(d + "/sub");
    PemError err;
    CHECK(crt_dir_files(d, err) == std::vector<std::string>{d + "/a.crt", d + "/b.pem", d + "/c"});
    CHECK(err.message.empty());

    auto cfg = test::tls_config(test::frontend("crt " + pki.dir));
    REQUIRE(cfg->binds.size() == 1);
    const auto& b = cfg->binds[0];
    REQUIRE(b.certs.size() == 5);
    CHECK(cfg->certs[static_cast<std::size_t>(b.certs[0])]->file == pki.dir + "/a.pem");   // the default
}

TEST_CASE("SNI lookup: exact names, one-level wildcards, case-insensitive, the default otherwise") {
    auto& pki = Pki::get();
    auto cfg = test::tls_config(test::frontend("crt " + pki.dir));
    const auto& b = cfg->binds[0];
    auto file_of = [&](int g) { return cfg->certs[static_cast<std::size_t>(b.groups[static_cast<std::size_t>(g)][0])]->file; };
    CHECK(b.group_for("a.test") == 0);
    CHECK(b.group_for("WWW.A.Test") == 0);
    CHECK(file_of(b.group_for("b.test")) == pki.dir + "/b.pem");
    CHECK(file_of(b.group_for("x.wild.test")) == pki.dir + "/wild.pem");
    CHECK(b.group_for("a.b.wild.test") == 0);
    CHECK(b.group_for("wild.test") == 0);
    CHECK(b.group_for("unknown.test") == 0);
    CHECK(b.group_for("") == 0);
    CHECK(b.group_for(std::string(300, 'a')) == 0);
    // dual.test: one group with both key types, so OpenSSL chooses by what the client offers.
    const auto& dual = b.groups[static_cast<std::size_t>(b.group_for("dual.test"))];
    REQUIRE(dual.size() == 2);
    CHECK(cfg->certs[static_cast<std::size_t>(dual[0])]->kind != cfg->certs[static_cast<std::size_t>(dual[1])]->kind);
}

TEST_CASE("options OpenSSL refuses, and an empty version range, are errors at load") {
    auto& pki = Pki::get();
    std::string crt = "crt " + pki.a_file;
    CHECK(errors_of(test::frontend(crt + " curves P-256:nope")).starts_with(
        "t.cfg:8: bind '127.0.0.1:0' of 'fe': curves 'P-256:nope': "));
    CHECK(errors_of(test::frontend(crt + " ciphers NOTHING-AT-ALL")).starts_with(
        "t.cfg:8: bind '127.0.0.1:0' of 'fe': ciphers 'NOTHING-AT-ALL': "));
    CHECK(errors_of(test::frontend(crt + " ciphersuites TLS_NOPE")).starts_with(
        "t.cfg:8: bind '127.0.0.1:0' of 'fe': ciphersuites 'TLS_NOPE': "));
    CHECK(errors_of(test::frontend(crt + " ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2")) ==
          "t.cfg:8: bind '127.0.0.1:0' of 'fe': ssl-min-ver is above ssl-max-ver\n");
    CHECK(errors_of(test::frontend(crt, "  ssl-default-bind-options no-tlsv12 no-tlsv13\n")) ==
          "t.cfg:9: bind '127.0.0.1:0' of 'fe': every TLS version between ssl-min-ver and ssl-max-ver is "
          "disabled (no-tlsv1x)\n");
}

TEST_CASE("bind words win over ssl-default-bind-*, which win over skjold's defaults") {
    auto& pki = Pki::get();
    auto cfg = test::tls_config(test::frontend("crt " + pki.a_file + " ciphers ECDHE-ECDSA-AES256-GCM-SHA384 alpn h2,http/1.1",
                                               "  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
                                               "  ssl-default-bind-options ssl-max-ver TLSv1.2 no-tls-tickets\n"));
    const auto& p = cfg->binds[0].proto;
    CHECK(p.ciphers == "ECDHE-ECDSA-AES256-GCM-SHA384");
    CHECK(p.ciphersuites == kDefaultCiphersuites);
    CHECK(p.curves == kDefaultCurves);
    CHECK(p.min_version == TLS1_2_VERSION);
    CHECK(p.max_version == TLS1_2_VERSION);
    CHECK_FALSE(cfg->binds[0].tickets);
    CHECK(p.alpn == std::vector<std::uint8_t>{2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'});
}

TEST_CASE("server ssl: ca-file is parsed at load; a ca-file without a certificate is an error") {
    auto& pki = Pki::get();
    std::string base = "defaults\n  mode tcp\nbackend be\n  server s1 127.0.0.1:9 ssl ";
    auto cfg = test::tls_config(base + "ca-file " + pki.ca_file + " sni str(api.test) alpn http/1.1\n");
    REQUIRE(cfg->servers.size() == 1);
    CHECK(cfg->servers[0].ca.size() == 1);
    CHECK(cfg->servers[0].sni_literal == "api.test");
    CHECK(cfg->servers[0].verify);
    std::string notpem = pki.root + "/notpem.txt";
    test::write_file(notpem, "hello\n");
    CHECK(errors_of(base + "ca-file " + notpem + "\n") ==
          "t.cfg:4: server 'be/s1': ca-file '" + notpem + "': no certificate in it\n");
}

TEST_CASE("a configuration without TLS gives an empty, valid TLS configuration") {
    auto loaded = conf::load_string("defaults\n  mode tcp\nfrontend fe\n  bind 127.0.0.1:0\n  default_backend be\n"
                                    "backend be\n  server s 127.0.0.1:9\n",
                                    "t.cfg");
    REQUIRE(loaded.snapshot);
    auto r = load_tls_config(*loaded.snapshot);
    REQUIRE(r.config);
    CHECK(r.config->binds.empty());
    CHECK(r.config->servers.empty());
}
