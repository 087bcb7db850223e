// Fuzz target: one line as an operator types it on the stats socket, through the CLI parser and
// dispatcher (proxy/stats_commands) at level admin, over a running configuration without workers
// (the same pieces tests/unit/proxy/stats_fixture.hh assembles: state table, two workers'
// counters, a checker that is not started, so admin commands apply on this thread).
// Checks: no crash; as HAProxy answers, the line's output is empty (it began with `quit`) or
// ends with the empty line that closes an answer, followed by the prompt "> " when the session
// is interactive; a non-interactive session closes. Each command alone (re-escaped) on a fresh
// interactive admin session also answers "<text ending in \n or nothing>\n> ".
// Server state persists between inputs, as on a real socket.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/loader.hh"
#include "core/worker.hh"
#include "health/checker.hh"
#include "proxy/shared.hh"
#include "proxy/stats_commands.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_source.hh"

namespace {

using namespace skjold;

[[noreturn]] void fail() { __builtin_trap(); }

constexpr std::string_view kConfig =
    "defaults\n"
    "    mode http\n"
    "    timeout connect 1s\n"
    "    timeout client 5s\n"
    "    timeout server 5s\n"
    "frontend fe\n"
    "    bind 127.0.0.1:0\n"
    "    default_backend be\n"
    "backend be\n"
    "    server s1 127.0.0.1:9001 check rise 2 fall 3\n"
    "    server s2 127.0.0.1:9002 weight 3\n"
    "    server bk 127.0.0.1:9003 backup\n"
    "backend other\n"
    "    server o1 [::1]:9004 disabled\n";

struct Stats {
    std::shared_ptr<const conf::Snapshot> snap;
    std::unique_ptr<health::ServerStateTable> table;
    std::vector<std::unique_ptr<proxy::WorkerStats>> workers;
    std::unique_ptr<health::Checker> checker;
    proxy::StatsSource src;
    proxy::StatsHistory history;
    proxy::ProcessFacts facts;

    Stats() {
        snap = conf::load_string(kConfig, "fuzz.cfg").snapshot;
        if (snap == nullptr) fail();
        table = std::make_unique<health::ServerStateTable>(*snap);
        for (int i = 0; i < 2; ++i) workers.push_back(proxy::make_worker_stats(*snap));
        checker = std::make_unique<health::Checker>(snap, *table);
        src.snap = snap;
        src.state = table.get();
        src.workers = &workers;
        src.check_stats = [this](int p, int s) { return checker->stats(p, s); };
        src.admin = [this](const health::AdminCommand& c) { return checker->admin(c); };
        src.nworkers = 2;
        src.global_maxconn = 1000;
        facts.start_ms = core::monotonic_ms();
        history.reset(src, core::monotonic_ms());
    }

    std::string run(std::string_view line, proxy::CliSession& s) {
        proxy::CliContext ctx{src, history, facts, core::monotonic_ms()};
        std::string out;
        proxy::run_line(line, s, ctx, out);
        return out;
    }
};

Stats& stats() {
    static Stats s;
    return s;
}

bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// One command's words as a line that splits back into exactly these words.
std::string escape(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& w : words) {
        if (!line.empty()) line += ' ';
        for (char c : w) {
            if (c == '\\' || c == ';' || c == ' ' || c == '\t' || c == '\r') line += '\\';
            line += c;
        }
    }
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The server reads a line up to its newline; the fuzzer's bytes after one are not typed.
    std::string_view line(reinterpret_cast<const char*>(data), size);
    line = line.substr(0, line.find('\n'));
    Stats& st = stats();

    proxy::CliSession s;
    s.level = proxy::CliLevel::admin;
    std::string out = st.run(line, s);
    if (s.quit && !s.closing) fail();
    if (!out.empty()) {
        if (s.interactive ? !ends_with(out, "\n> ") : !ends_with(out, "\n")) fail();
    } else if (!s.quit) {
        fail();   // every line that is not `quit` first gets an answer
    }
    if (!s.interactive && !s.closing) fail();

    auto commands = proxy::split_commands(line);
    if (commands.empty()) fail();
    for (const auto& words : commands) {
        if (!words.empty() && (words[0] == "quit" || words[0] == "prompt")) continue;
        if (proxy::split_commands(escape(words)) != std::vector<std::vector<std::string>>{words}) fail();
        proxy::CliSession one;
        one.level = proxy::CliLevel::admin;
        one.interactive = true;
        std::string answer = st.run(escape(words), one);
        if (!ends_with(answer, "\n> ") || one.closing) fail();
        answer.resize(answer.size() - 3);   // the answer's text, before its empty line
        if (!answer.empty() && answer.back() != '\n') fail();
    }
    return 0;
}
