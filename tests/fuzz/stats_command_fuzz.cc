// Fuzz target: one line as an operator types it on the stats socket, through the CLI parser and
// dispatcher (proxy/stats_commands) at level admin, over a running configuration without workers
// (tests/unit/proxy/stats_fixture.hh, built from the Snapshot: state table, two workers'
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
#include "proxy/stats_commands.hh"
// Not linked with doctest: its macros (used only by the fixture's test-side checks, which this
// target does not call) compile to nothing.
#define DOCTEST_CONFIG_DISABLE
#include "tests/unit/proxy/stats_fixture.hh"

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

std::shared_ptr<const conf::Snapshot> load() {
    auto snap = conf::load_string(kConfig, "fuzz.cfg").snapshot;
    if (snap == nullptr) fail();
    return snap;
}

proxy::test::StatsFixture& stats() {
    static proxy::test::StatsFixture s(load());
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
    proxy::test::StatsFixture& st = stats();

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
