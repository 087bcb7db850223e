// Faults (hardening issue): a server killed with SIGKILL mid-transfer (tcp and http mode), skjold
// itself killed with SIGKILL under load and restarted (the port accepts again within 1 s, and
// what the dead process left on disk — pidfile, stats socket, ready file — does not matter), and a
// SIGHUP storm (50 in one second) while clients fetch: no crash, every completed response intact,
// resident memory bounded. Servers that must die are processes of their own (server_process.hh).
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hh"
#include "http_backend.hh"
#include "http_client.hh"
#include "server_process.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = t::Received::End;

namespace {

// VmRSS of a process in KiB (0 when it cannot be read).
long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

// Resident KiB of a process outside its workers' receive-buffer rings. Each ring (core::Worker:
// 1024 buffers of tune.bufsize, default 16384, plus 16 B per entry: one 16400 KiB mmap; the
// kernel shows adjacent rings as one mapping) is touched page by page as the kernel hands its
// buffers out in turn, so it fills toward its size whatever else happens; what must stay level
// across reloads is everything else.
long rss_outside_buffer_rings_kib(pid_t pid) {
    constexpr long kRingMapKib = 1024L * 16384 / 1024 + 1024L * 16 / 1024;
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
    std::string line;
    long size = 0, total = 0;
    while (std::getline(in, line)) {
        if (line.rfind("Size:", 0) == 0) size = std::stol(line.substr(5));
        else if (line.rfind("Rss:", 0) == 0 && size % kRingMapKib != 0) total += std::stol(line.substr(4));
    }
    return total;
}

// Reads from `conn` until `n` bytes came (or 5 s): the transfer is under way.
std::size_t read_at_least(t::Connection& conn, std::size_t n) {
    return conn.recv_n(n, 5s).data.size();
}

// The client's reading once its server is gone: EOF or reset within 5 s, never a hang.
void expect_closed(t::Connection& conn) {
    auto rest = conn.recv_all(5s);
    CHECK_MESSAGE(rest.end != End::timeout, "the client's connection stayed open after its server died");
}

// Body of /obj/N: its size and bytes follow from N, so the client knows what it must get.
std::string object_body(int n) { return t::random_bytes(static_cast<std::size_t>(200 + (n % 7) * 9000), static_cast<std::uint64_t>(n)); }

int object_number(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? 0 : std::atoi(path.c_str() + slash + 1) % 1000;
}

t::Reply object_reply(const t::SeenRequest& r) {
    t::Reply rep = t::Reply::text(object_body(object_number(r.path())));
    rep.headers.push_back({"X-Body-Sha256", t::sha256_hex(rep.body)});
    return rep;
}

struct FetchTally {
    std::atomic<std::uint64_t> ok{0}, corrupt{0}, cut{0}, not_started{0}, refused{0};
    std::mutex mu;
    std::vector<std::string> problems;   // the first few, for the report
    void note(std::string what) {
        std::lock_guard<std::mutex> g(mu);
        if (problems.size() < 8) problems.push_back(std::move(what));
    }
};

// One client thread: GETs of /obj/N until `stop`, on a keep-alive connection (`reuse`) or a new
// connection per request. A response that started must arrive whole and match its sha256; a
// connection closed before any response byte (an idle keep-alive connection the proxy closed as
// the request went out) is counted apart; a refused connect means the listener went away.
void fetch_loop(const t::Address& at, int id, bool reuse, const std::atomic<bool>& stop, FetchTally& tally) {
    t::HttpClient client;
    bool open = false;
    for (int n = 0; !stop.load() && n < 200000; ++n) {
        if (!open) {
            client = t::HttpClient::open(at, {}, 2s);
            if (!client.connected()) {
                ++tally.refused;
                tally.note("connect: " + client.error());
                std::this_thread::sleep_for(10ms);
                continue;
            }
            open = true;
        }
        const int obj = (id * 131 + n) % 1000;
        const std::string req = "GET /obj/" + std::to_string(obj) + " HTTP/1.1\r\nHost: faults.test\r\n" +
                                (reuse ? "" : "Connection: close\r\n") + "\r\n";
        t::HttpResponse r;
        if (client.send(req, 2s)) r = client.read_final(false, 5s);
        else r.error = "send failed";
        if (!r.ok() && r.head.raw.empty() && client.buffered().empty()) {
            ++tally.not_started;   // nothing of a response: the request may not even have been read
            open = false;
            continue;
        }
        const std::string want = t::sha256_hex(object_body(obj));
        if (!r.ok()) {
            ++tally.cut;
            tally.note("GET /obj/" + std::to_string(obj) + ": " + r.error);
            open = false;
            continue;
        }
        if (r.status != 200 || t::sha256_hex(r.body) != want || r.header("X-Body-Sha256") != want) {
            ++tally.corrupt;
            tally.note("GET /obj/" + std::to_string(obj) + ": status " + std::to_string(r.status) + ", " +
                       std::to_string(r.body.size()) + " body bytes, sha256 mismatch or wrong status");
            open = false;
            continue;
        }
        ++tally.ok;
        if (!reuse || r.has_token("Connection", "close")) open = false;
    }
}

t::ServerProcess start_server(t::ServerProcess::Mode mode, std::uint16_t port = 0) {
    auto s = t::ServerProcess::start(mode, port);
    REQUIRE(s.pid() > 0);
    return s;
}

// A server process, and skjold with `defaults` then "listen fe" on 127.0.0.1:0 in front of it.
struct Rig {
    t::Tempdir dir;
    t::ServerProcess server;
    t::Skjold lb;
    t::Address fe;
    std::uint16_t port;   // the server's, for its restart
    Rig(t::ServerProcess::Mode mode, std::string_view defaults)
        : server(start_server(mode)),
          lb(t::start_with_config(dir, std::string(defaults) + t::fill("listen fe\n"
                                                                       "    bind 127.0.0.1:0\n"
                                                                       "    server s1 ${S}\n",
                                                                       {{"S", server.address().to_string()}}))),
          fe(lb.listener("fe")),
          port(server.address().port()) {}
};

// The killed http server comes back on its port: requests through the same skjold are served,
// on one keep-alive connection and on new ones; then skjold stops cleanly.
void served_after_restart(Rig& rig) {
    auto again = start_server(t::ServerProcess::Mode::http, rig.port);
    auto client = t::HttpClient::open(rig.fe);
    REQUIRE_MESSAGE(client.connected(), client.error());
    for (int i = 0; i < 5; ++i) {
        auto r = client.roundtrip(t::http_get("/small"));
        REQUIRE_MESSAGE(r.ok(), r);
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
        auto fresh = t::fetch(rig.fe, t::http_get("/small"));
        REQUIRE_MESSAGE(fresh.ok(), fresh);
        CHECK(fresh.body == "hello");
    }
    CHECK(rig.lb.stop() == 0);
}

// Four fetch_loop clients on `at` (client c keeps its connection alive when `reuse(c)`), until
// finish() or the end of the scope.
class FetchLoad {
public:
    FetchLoad(const t::Address& at, FetchTally& tally, bool (*reuse)(int)) {
        for (int c = 0; c < 4; ++c) threads_.emplace_back([this, at, &tally, reuse, c] { fetch_loop(at, c, reuse(c), stop_, tally); });
    }
    FetchLoad(const FetchLoad&) = delete;
    FetchLoad& operator=(const FetchLoad&) = delete;
    ~FetchLoad() { finish(); }
    void finish() {
        stop_ = true;
        for (auto& th : threads_)
            if (th.joinable()) th.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
};

bool every_other(int c) { return c % 2 == 0; }
bool all_but_last(int c) { return c != 3; }

}  // namespace

TEST_SUITE_BEGIN("faults");

TEST_CASE("a tcp-mode server killed with SIGKILL mid-transfer: the client's connection ends, the next client is served") {
    Rig rig(t::ServerProcess::Mode::stream, t::kTcpDefaults);
    auto& fe = rig.fe;
    auto conn = t::Connection::open(fe);
    REQUIRE_MESSAGE(conn.connected(), conn.error());
    REQUIRE(read_at_least(conn, 256 * 1024) == 256 * 1024);

    rig.server.kill9();
    expect_closed(conn);
    CHECK(rig.lb.running());

    // The server comes back on its port: the next clients get its stream through the same skjold.
    auto again = start_server(t::ServerProcess::Mode::stream, rig.port);
    for (int i = 0; i < 3; ++i) {
        auto next = t::Connection::open(fe);
        REQUIRE_MESSAGE(next.connected(), next.error());
        CHECK(read_at_least(next, 64 * 1024) == 64 * 1024);
    }
    CHECK(rig.lb.stop() == 0);
}

TEST_CASE("an http-mode server killed with SIGKILL mid-body: the client sees a cut response and a close, the next requests are served") {
    Rig rig(t::ServerProcess::Mode::http, t::kHttpDefaults);
    auto client = t::HttpClient::open(rig.fe);
    REQUIRE_MESSAGE(client.connected(), client.error());
    REQUIRE(client.send(t::http_get("/big")));
    // The head and a good part of the body went through before the kill.
    auto got = client.connection().recv_n(256 * 1024, 5s);
    REQUIRE(got.data.size() == 256 * 1024);
    CHECK(got.data.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(got.data.find("Content-Length: 1000000000") != std::string::npos);

    rig.server.kill9();
    // The body cannot be complete (1e9 bytes announced): the client must see the connection end.
    auto rest = client.connection().recv_all(5s);
    CHECK_MESSAGE(rest.end != End::timeout, "the client's connection stayed open after its server died");
    CHECK(got.data.size() + rest.data.size() < 1000000000u);
    CHECK(rig.lb.running());
    served_after_restart(rig);
}

TEST_CASE("an http-mode server killed with SIGKILL before answering a POST: the client gets 502, the next requests are served") {
    Rig rig(t::ServerProcess::Mode::http, t::kHttpDefaults);
    auto client = t::HttpClient::open(rig.fe);
    REQUIRE_MESSAGE(client.connected(), client.error());
    // A POST with a body is never retried: what the server's death gives is what the client sees.
    REQUIRE(client.send(t::http_request("POST", "/hang", {}, "payload")));
    REQUIRE_MESSAGE(rig.server.wait_line("request"), "the server never got the request");

    rig.server.kill9();
    auto r = client.read_final(false, 5s);
    REQUIRE_MESSAGE(r.ok(), r);
    CHECK(r.status == 502);
    CHECK(rig.lb.running());
    served_after_restart(rig);
}

TEST_CASE("skjold killed with SIGKILL under load and restarted accepts on its port again within 1 s") {
    t::Tempdir dir;
    t::HttpBackend backend(object_reply);
    const std::uint16_t port = t::free_port();
    // A pidfile, a stats socket and the ready file: all left behind by the killed process.
    const auto cfg = dir.write("skjold.cfg", "global\n"
                                                 "    nbthread 2\n"
                                                 "    pidfile " + (dir / "skjold.pid").string() + "\n"
                                                 "    stats socket " + (dir / "stats.sock").string() + "\n" +
                                                 std::string(t::kHttpDefaults) +
                                                 t::fill("listen fe\n"
                                                         "    bind 127.0.0.1:${PORT}\n"
                                                         "    server s1 ${S}\n",
                                                         {{"PORT", std::to_string(port)}, {"S", backend.addr()}}));
    const std::vector<std::string> args{"-f", cfg.string(), "--ready-file", (dir / "ready").string()};
    auto lb = t::Skjold::start(args);
    const auto fe = *t::Address::ip("127.0.0.1", port);

    FetchTally before;
    FetchLoad load(fe, before, every_other);
    std::this_thread::sleep_for(500ms);
    lb.signal(SIGKILL);
    auto code = lb.wait_exit(5s);
    REQUIRE(code.has_value());
    CHECK(*code == 128 + SIGKILL);
    load.finish();
    CHECK(before.ok.load() > 0);
    CHECK(before.corrupt.load() == 0);
    CHECK(std::filesystem::exists(dir / "skjold.pid"));   // the stale state is there...

    // ...and does not matter: the same command line starts at once, on the same port.
    const auto t0 = Clock::now();
    auto lb2 = t::Skjold::start(args);
    bool accepting = false;
    while (!accepting && Clock::now() - t0 < 5s) {
        auto conn = t::Connection::open(fe, {}, 500ms);
        accepting = conn.connected();
        if (!accepting) std::this_thread::sleep_for(5ms);
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    MESSAGE("restart to accepting: " << took.count() << " ms");
    REQUIRE(accepting);
    CHECK(took < 1s);

    // The restarted process serves under load again, with intact bodies.
    FetchTally after;
    {
        FetchLoad again(fe, after, every_other);
        std::this_thread::sleep_for(500ms);
    }
    CHECK(after.ok.load() > 0);
    CHECK(after.corrupt.load() == 0);
    CHECK(after.cut.load() == 0);
    CHECK(after.refused.load() == 0);
    for (const auto& p : after.problems) MESSAGE(p);
    CHECK(lb2.stop() == 0);
}

// Two workers and a `listen fe` in front of `backend`, on a fixed port as in production: a
// reload keeps the listening socket of an unchanged bind.
static t::Skjold start_reloadable(const t::Tempdir& dir, const t::HttpBackend& backend) {
    const std::uint16_t port = t::free_port();
    return t::start_with_config(dir, "global\n"
                                     "    nbthread 2\n" +
                                         std::string(t::kHttpDefaults) +
                                         t::fill("listen fe\n"
                                                 "    bind 127.0.0.1:${PORT}\n"
                                                 "    server s1 ${S}\n",
                                                 {{"PORT", std::to_string(port)}, {"S", backend.addr()}}));
}

// start_reloadable in front of an object server, with the four clients of FetchLoad fetching
// (all but the last on keep-alive connections) from the start.
struct ReloadUnderLoad {
    t::Tempdir dir;
    t::HttpBackend backend{object_reply};
    t::Skjold lb = start_reloadable(dir, backend);
    const t::Address fe = lb.listener("fe");
    FetchTally tally;
    FetchLoad load{fe, tally, all_but_last};
};

TEST_CASE("a SIGHUP storm (50 in one second) while clients fetch: no crash, every completed response intact, memory bounded") {
    ReloadUnderLoad rig;
    std::this_thread::sleep_for(500ms);   // warmed up: pools, buffers, connections in place
    const long rss_before = rss_kib(rig.lb.pid());
    const std::uint64_t ok_before = rig.tally.ok.load();

    for (int i = 0; i < 50; ++i) {
        rig.lb.signal(SIGHUP);
        std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(1500ms);   // the reloads settle while the clients go on
    rig.load.finish();
    REQUIRE_MESSAGE(rig.lb.running(), "skjold died during the SIGHUP storm:\n" << rig.lb.log());

    // Every response that started arrived whole and intact, and the listener never went away.
    const std::string log = rig.lb.log();
    std::size_t reloads = 0;
    for (auto at = log.find("reload ok"); at != std::string::npos; at = log.find("reload ok", at + 1)) ++reloads;
    MESSAGE("responses: " << rig.tally.ok.load() << " ok, " << rig.tally.not_started.load()
                          << " connections closed before a response; " << reloads << " reloads logged");
    for (const auto& p : rig.tally.problems) MESSAGE(p);
    CHECK(rig.tally.corrupt.load() == 0);
    CHECK(rig.tally.cut.load() == 0);
    CHECK(rig.tally.refused.load() == 0);
    CHECK(rig.tally.ok.load() > ok_before);   // clients were served during and after the storm

    // A new client after the storm.
    auto r = t::fetch(rig.fe, "GET /obj/7 HTTP/1.1\r\nHost: faults.test\r\n\r\n");
    REQUIRE_MESSAGE(r.ok(), r);
    CHECK(r.status == 200);
    CHECK(t::sha256_hex(r.body) == t::sha256_hex(object_body(7)));

    // Memory: the configurations the storm replaced are freed. ASan's quarantine keeps up to
    // 256 MiB of freed memory resident, so its bound is looser.
    const long rss_after = rss_kib(rig.lb.pid());
#if defined(SKJOLD_SANITIZE)
    const long bound_kib = rss_before + 320 * 1024;
#else
    const long bound_kib = rss_before + 64 * 1024;
#endif
    MESSAGE("VmRSS before the storm " << rss_before << " KiB, after " << rss_after << " KiB");
    CHECK(rss_before > 0);
    CHECK(rss_after <= bound_kib);
    CHECK(rig.lb.stop() == 0);
}

// Every replaced configuration must be freed and leave nothing behind: a generation never freed,
// or 64 KiB left per generation, shows here as a climb over 175 reloads (tried: +11 MB). The
// slower effect bench/soak.sh found (freed generations' memory kept in glibc's arenas, now handed
// back by malloc_trim in proxy/process.cc) needs minutes of traffic per generation to show.
TEST_CASE("200 reloads under load: every replaced configuration is freed and resident memory stays level") {
    ReloadUnderLoad rig;
    auto reloads = [&](int n) {
        for (int i = 0; i < n; ++i) {
            rig.lb.signal(SIGHUP);
            std::this_thread::sleep_for(50ms);
        }
        std::this_thread::sleep_for(1000ms);   // the last replaced configurations finish
    };
    reloads(25);   // warmed up: slabs, pools, arenas and thread stacks at their working size
    const long before = rss_outside_buffer_rings_kib(rig.lb.pid());
    reloads(175);
    const long after = rss_outside_buffer_rings_kib(rig.lb.pid());
    rig.load.finish();
    REQUIRE_MESSAGE(rig.lb.running(), "skjold died during the reloads:\n" << rig.lb.log());

    const std::string log = rig.lb.log();
    const std::size_t adopted = t::count_of(log, "reload ok"), freed = t::count_of(log, "finished its last session");
    MESSAGE("responses: " << rig.tally.ok.load() << " ok; " << adopted << " reloads adopted, " << freed
                          << " configurations freed; resident outside the buffer rings: " << before
                          << " KiB after 25 reloads, " << after << " KiB after 200");
    for (const auto& p : rig.tally.problems) MESSAGE(p);
    CHECK(rig.tally.corrupt.load() == 0);
    CHECK(rig.tally.cut.load() == 0);
    CHECK(rig.tally.refused.load() == 0);
    CHECK(adopted >= 100);         // SIGHUPs that arrive during a reload fold into one
    CHECK(freed + 1 >= adopted);   // every replaced configuration (the last may still end a request)
    // ASan's quarantine keeps freed memory resident (up to 256 MiB), so its bound is looser.
#if defined(SKJOLD_SANITIZE)
    const long bound_kib = before + 320 * 1024;
#else
    const long bound_kib = before + 4 * 1024;
#endif
    CHECK(before > 0);
    CHECK(after <= bound_kib);
    CHECK(rig.lb.stop() == 0);
}

TEST_SUITE_END();
