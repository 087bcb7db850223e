// The tools operators point at HAProxy's stats socket, pointed at skjold's, unchanged: hatop
// (driven in a private tmux server) and prometheus-haproxy-exporter (scraped with curl). A tool
// that scripts/install-deps.sh cannot install makes the suite SKIP (exit 77).
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "harness.hh"
#include "stats_client.hh"

namespace t = skjold::test;
using namespace std::chrono_literals;

namespace {

bool have(const std::string& program) {
    return t::run_process({"sh", "-c", "command -v " + program}, 5s).exit_code == 0;
}

// The tools come from Debian packages that install-deps.sh lists; try it once, then skip.
void require_tools(std::initializer_list<std::string> programs) {
    static bool tried = false;
    bool missing = false;
    for (const auto& p : programs) missing = missing || !have(p);
    if (missing && !tried) {
        tried = true;
        t::run_process({"bash", (t::source_root() / "scripts" / "install-deps.sh").string()}, 600s);
        missing = false;
        for (const auto& p : programs) missing = missing || !have(p);
    }
    if (missing) t::skip_run("hatop, tmux or prometheus-haproxy-exporter is missing and scripts/install-deps.sh could not install it");
}

// A background program: started with fork/exec, output to `log`, stopped by PID.
class Child {
public:
    Child(const std::vector<std::string>& argv, const std::filesystem::path& log) {
        pid_ = fork();
        if (pid_ == 0) {
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
    }
    ~Child() { stop(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {   // 5 s, then SIGKILL
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

std::string config(const t::Tempdir& dir, const t::TcpAnswerServer& a, const t::TcpAnswerServer& b) {
    return t::fill("global\n"
                   "    nbthread 1\n"
                   "    stats socket ${DIR}/admin.sock level admin\n",
                   {{"DIR", dir.path().string()}}) +
           std::string(t::kTcpDefaults) +
           t::fill("frontend web_in\n"
                   "    bind 127.0.0.1:0\n"
                   "    default_backend pool_no\n"
                   "backend pool_no\n"
                   "    server oslo1 ${A} check inter 200ms\n"
                   "    server oslo2 ${B} check inter 200ms\n",
                   {{"A", a.address().to_string()}, {"B", b.address().to_string()}});
}

// A tmux server of our own (-L NAME), so nothing touches the user's tmux sessions.
struct Tmux {
    std::string name = "skjold-stats-" + std::to_string(getpid());
    t::RunResult run(std::vector<std::string> args) {
        args.insert(args.begin(), {"tmux", "-L", name});
        return t::run_process(args, 10s);
    }
    std::string screen() { return run({"capture-pane", "-p", "-t", "hatop"}).out; }
    // Polls the screen until `pred` holds (bounded); returns the last screen.
    template <class Pred>
    std::string wait_screen(Pred pred, std::chrono::milliseconds limit = 10s) {
        auto until = std::chrono::steady_clock::now() + limit;
        std::string s;
        do {
            s = screen();
            if (pred(s)) return s;
            std::this_thread::sleep_for(100ms);
        } while (std::chrono::steady_clock::now() < until);
        return s;
    }
    ~Tmux() { run({"kill-server"}); }
};

bool has(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_SUITE_BEGIN("stats-tools");

TEST_CASE("hatop shows skjold's backends and servers and disables a server with F10") {
    require_tools({"hatop", "tmux"});
    t::Tempdir dir;
    t::TcpAnswerServer a("oslo1"), b("oslo2");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    auto sock = dir / "admin.sock";
    Tmux tmux;
    REQUIRE(tmux.run({"new-session", "-d", "-s", "hatop", "-x", "200", "-y", "50",
                      "TERM=xterm hatop -s " + sock.string() + " ; sleep 30"}).exit_code == 0);
    auto screen = tmux.wait_screen([](const std::string& s) { return has(s, "oslo2") && has(s, "BACKEND"); });
    INFO("hatop screen:\n" << screen);
    CHECK(has(screen, "skjold Version: " SKJOLD_VERSION));
    CHECK(has(screen, ">>> web_in"));
    CHECK(has(screen, ">>> pool_no"));
    CHECK(has(screen, "FRONTEND"));
    CHECK(has(screen, "OPEN"));
    CHECK(has(screen, "oslo1"));
    CHECK(has(screen, "oslo2"));
    screen = tmux.wait_screen([](const std::string& s) { return has(s, "L4OK"); });
    CHECK(has(screen, "L4OK"));

    // The cursor starts on web_in's FRONTEND row; hatop moves it one screen line per key and
    // shows the selected proxy/server ids in the corner: [#2/#1] is pool_no/oslo1.
    for (int i = 0; i < 6 && !has(screen, "[#2/#1]"); ++i) {
        tmux.run({"send-keys", "-t", "hatop", "Down"});
        screen = tmux.wait_screen([](const std::string& s) { return !has(s, "[#1/#0]"); }, 2s);
        screen = tmux.wait_screen([](const std::string& s) { return has(s, "[#2/#1]"); }, 1500ms);
    }
    REQUIRE(has(screen, "[#2/#1]"));
    tmux.run({"send-keys", "-t", "hatop", "F10"});
    std::string status;
    for (int i = 0; i < 50 && status != "MAINT"; ++i) {   // bounded: 5 s
        status = t::parse_stat(t::stats_command(sock, "show stat")).get("pool_no", "oslo1", "status");
        if (status != "MAINT") std::this_thread::sleep_for(100ms);
    }
    CHECK(status == "MAINT");
    screen = tmux.wait_screen([](const std::string& s) { return has(s, "MAINT"); });
    CHECK(has(screen, "MAINT"));

    tmux.run({"send-keys", "-t", "hatop", "q"});
    screen = tmux.wait_screen([](const std::string& s) { return !has(s, "HATop version"); }, 5s);
    CHECK_FALSE(has(screen, "HATop version"));   // hatop quit cleanly (the pane now runs sleep)
    CHECK(lb.stop() == 0);
}

TEST_CASE("prometheus-haproxy-exporter scrapes skjold's socket: haproxy_up 1 and per-server series") {
    require_tools({"prometheus-haproxy-exporter", "curl"});
    t::Tempdir dir;
    t::TcpAnswerServer a("oslo1"), b("oslo2");
    auto lb = t::start_with_config(dir, config(dir, a, b));
    for (int i = 0; i < 6; ++i) REQUIRE(t::who_answers(lb.listener("web_in")) != "");
    auto port = std::to_string(t::free_port());
    Child exporter({"prometheus-haproxy-exporter", "--haproxy.scrape-uri=unix:" + (dir / "admin.sock").string(),
                    "--web.listen-address=127.0.0.1:" + port},
                   dir / "exporter.log");
    std::string metrics;
    for (int i = 0; i < 100 && !has(metrics, "haproxy_up"); ++i) {   // bounded: ~10 s
        metrics = t::run_process({"curl", "-s", "--max-time", "2", "http://127.0.0.1:" + port + "/metrics"}, 5s).out;
        if (!has(metrics, "haproxy_up")) std::this_thread::sleep_for(100ms);
    }
    INFO("metrics:\n" << metrics);
    CHECK(has(metrics, "\nhaproxy_up 1\n"));
    CHECK(has(metrics, "haproxy_exporter_csv_parse_failures_total 0"));
    CHECK(has(metrics, "haproxy_version_info{release_date="));
    CHECK(has(metrics, "version=\"" SKJOLD_VERSION "\"} 1"));
    CHECK(has(metrics, "haproxy_server_up{backend=\"pool_no\",server=\"oslo1\"} 1"));
    CHECK(has(metrics, "haproxy_server_up{backend=\"pool_no\",server=\"oslo2\"} 1"));
    CHECK(has(metrics, "haproxy_backend_up{backend=\"pool_no\"} 1"));
    CHECK(has(metrics, "haproxy_frontend_current_sessions{frontend=\"web_in\"} 0"));
    CHECK(has(metrics, "haproxy_server_sessions_total{backend=\"pool_no\",server=\"oslo1\"} 3"));
    CHECK(has(metrics, "haproxy_server_sessions_total{backend=\"pool_no\",server=\"oslo2\"} 3"));
    CHECK(has(metrics, "haproxy_frontend_sessions_total{frontend=\"web_in\"} 6"));
    exporter.stop();
    CHECK(lb.stop() == 0);
}
