#pragma once
// The stats socket's command language, HAProxy's CLI (management.txt 9.3): parsing a line into
// commands, the level each command needs, the answers and the error texts HAProxy gives.
//
// Protocol, as HAProxy 2.6 behaves:
//   - a line holds one or more commands separated by ';' (a backslash escapes ';', a space or
//     itself); words are separated by spaces or tabs;
//   - every command's answer is followed by an empty line; in interactive mode ("prompt")
//     the prompt "> " follows that;
//   - non-interactive (the default): the connection closes after the first line;
//   - "prompt" toggles interactive mode; "quit" closes.
// Levels: user (show/get only), operator (+ clear counters), admin (everything). A command
// above the session's level answers "Permission denied".
//
// Owner: the StatsServer thread; nothing here is shared with the workers.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/snapshot_types.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_info.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy {

enum class CliLevel : std::uint8_t { user, operator_, admin };

CliLevel cli_level(conf::StatsSocket::Level l) noexcept;
const char* cli_level_name(CliLevel l) noexcept;

// One connection's state.
struct CliSession {
    CliLevel level = CliLevel::user;
    bool interactive = false;
    bool closing = false;            // quit, or the end of a non-interactive line
    bool quit = false;               // `quit` was given
    conf::Millis timeout_ms = 10000; // idle timeout (stats timeout, `set timeout cli`)
};

// What the commands read and update, for one line.
struct CliContext {
    const StatsSource& src;
    StatsHistory& history;
    const ProcessFacts& facts;
    std::uint64_t now_ms;
};

// Splits a line into commands and each command into words (escapes resolved). An empty
// command (empty line, ";;") is an empty vector.
std::vector<std::vector<std::string>> split_commands(std::string_view line);

// Runs every command of `line` (without its newline) and appends the answers, terminators and
// prompts to `out`. Sets session.closing when the connection must close after `out` is sent.
void run_line(std::string_view line, CliSession& session, CliContext& ctx, std::string& out);

// The help text (header line and one line per command) for `args` after "help", or the usage
// message an unknown command gets. Exposed for tests.
std::string usage_message(const std::vector<std::string>& args, bool is_help);

// `show servers state [BACKEND]` and `show backend`, HAProxy's formats.
void show_servers_state(std::string& out, const StatsSource& src, int only_proxy, std::uint64_t now_ms);
void show_backend(std::string& out, const conf::Snapshot& snap);

}  // namespace skjold::proxy
