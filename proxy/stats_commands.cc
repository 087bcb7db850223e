#include "proxy/stats_commands.hh"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/socket.h>

#include "health/admin_command.hh"
#include "health/check_status.hh"
#include "proxy/stats_csv.hh"

namespace skjold::proxy {

namespace {

using Args = std::vector<std::string>;

// One command: its keyword words, the help line and the handler.
struct Command {
    std::array<std::string_view, 3> words;   // "" after the last
    std::string_view usage, help;
    void (*run)(const Args& args, CliSession& s, CliContext& ctx, std::string& out);
};

std::string_view arg(const Args& a, std::size_t i) { return i < a.size() ? std::string_view(a[i]) : std::string_view(); }

// HAProxy's cli_has_level(): answers "Permission denied" when the session is below `need`.
bool has_level(const CliSession& s, CliLevel need, std::string& out) {
    if (s.level >= need) return true;
    out += "Permission denied\n";
    return false;
}

void err(std::string& out, std::string_view text) {
    out += text;
    out += '\n';
}

// `backend/server` to indexes, with HAProxy's error texts.
bool find_server(const CliContext& ctx, std::string_view text, health::ServerIndex& idx, std::string& out) {
    auto r = health::find_server(*ctx.src.snap, text);
    if (!r) {
        err(out, r.error().detail);
        return false;
    }
    idx = *r;
    return true;
}

void apply(CliContext& ctx, const health::AdminCommand& cmd, std::string& out) {
    if (!ctx.src.admin) {
        err(out, "Server state cannot be changed: no health checker is running.");
        return;
    }
    if (auto r = ctx.src.admin(cmd); !r) err(out, r.error().detail);
}

// --- show -----------------------------------------------------------------------------------

void cmd_show_stat(const Args& a, CliSession&, CliContext& ctx, std::string& out) {
    StatFilter f;
    std::size_t opt = 2;
    // `show stat {<iid>|<proxy>} <type> <sid>`: only with all three (HAProxy ignores fewer).
    if (a.size() >= 5 && a[2] != "up" && a[2] != "no-maint" && a[2] != "typed" && a[2] != "json" && a[2] != "desc") {
        // As HAProxy: a proxy name, else a number (-1: every proxy); 0 is no proxy.
        int px = ctx.src.snap->find_proxy(a[2]);
        f.iid = px >= 0 ? px + 1 : std::atoi(a[2].c_str());
        if (f.iid == 0) {
            err(out, "No such proxy.");
            return;
        }
        f.type_mask = std::atoi(a[3].c_str());
        f.sid = std::atoi(a[4].c_str());
        opt = 5;
    }
    for (std::size_t i = opt; i < a.size(); ++i) {
        if (a[i] == "up") f.up_only = true;
        else if (a[i] == "no-maint") f.no_maint = true;
        else if (a[i] == "typed" || a[i] == "json" || a[i] == "desc") {
            err(out, "skjold prints 'show stat' as CSV only ('" + a[i] + "' is not supported).");
            return;
        }
    }
    CounterView v = ctx.history.view(ctx.src, ctx.now_ms);
    out += stat_header();
    show_stat_rows(out, ctx.src, v, f, ctx.now_ms);
}

void cmd_show_info(const Args&, CliSession&, CliContext& ctx, std::string& out) {
    CounterView v = ctx.history.view(ctx.src, ctx.now_ms);
    show_info(out, ctx.src, v, ctx.history.process(), ctx.facts, ctx.now_ms);
}

void cmd_show_servers_state(const Args& a, CliSession&, CliContext& ctx, std::string& out) {
    int only = -1;
    if (!arg(a, 3).empty()) {
        only = ctx.src.snap->find_proxy(a[3]);
        if (only < 0 || !ctx.src.snap->proxies[static_cast<std::size_t>(only)].is_backend) {
            err(out, "Can't find backend.");
            return;
        }
    }
    show_servers_state(out, ctx.src, only, ctx.now_ms);
}

void cmd_show_backend(const Args&, CliSession&, CliContext& ctx, std::string& out) { show_backend(out, *ctx.src.snap); }

void cmd_show_cli_level(const Args&, CliSession& s, CliContext&, std::string& out) {
    out += cli_level_name(s.level);
    out += '\n';
}

// --- weights and server state ---------------------------------------------------------------

void cmd_get_weight(const Args& a, CliSession&, CliContext& ctx, std::string& out) {
    health::ServerIndex idx;
    if (!find_server(ctx, arg(a, 2), idx, out)) return;
    const health::ServerState& st = ctx.src.state->backend(idx.proxy)->server(idx.server);
    fmt::format_to(std::back_inserter(out), "{} (initial {})\n", st.user_weight(), st.config_weight());
}

void set_weight(CliContext& ctx, const health::ServerIndex& idx, std::string_view text, std::string& out) {
    auto w = health::parse_weight(text);
    if (!w) {
        err(out, w.error().detail);
        return;
    }
    health::AdminCommand cmd;
    cmd.op = health::AdminCommand::Op::set_weight;
    cmd.proxy = idx.proxy;
    cmd.server = idx.server;
    cmd.weight = w->value;
    cmd.percent = w->percent;
    apply(ctx, cmd, out);
}

void cmd_set_weight(const Args& a, CliSession& s, CliContext& ctx, std::string& out) {
    if (!has_level(s, CliLevel::admin, out)) return;
    health::ServerIndex idx;
    if (!find_server(ctx, arg(a, 2), idx, out)) return;
    set_weight(ctx, idx, arg(a, 3), out);
}

void cmd_set_server(const Args& a, CliSession& s, CliContext& ctx, std::string& out) {
    if (!has_level(s, CliLevel::admin, out)) return;
    health::ServerIndex idx;
    if (!find_server(ctx, arg(a, 2), idx, out)) return;
    std::string_view what = arg(a, 3), value = arg(a, 4);
    health::AdminCommand cmd;
    cmd.proxy = idx.proxy;
    cmd.server = idx.server;
    if (what == "state") {
        cmd.op = health::AdminCommand::Op::set_state;
        if (value == "ready") cmd.admin = health::Admin::ready;
        else if (value == "drain") cmd.admin = health::Admin::drain;
        else if (value == "maint") cmd.admin = health::Admin::maint;
        else return err(out, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.");
        apply(ctx, cmd, out);
    } else if (what == "health") {
        cmd.op = health::AdminCommand::Op::set_health;
        if (value == "up") cmd.health = health::Health::up;
        else if (value == "stopping") cmd.health = health::Health::stopping;
        else if (value == "down") cmd.health = health::Health::down;
        else return err(out, "'set server <srv> health' expects 'up', 'stopping', or 'down'.");
        apply(ctx, cmd, out);
    } else if (what == "weight") {
        set_weight(ctx, idx, value, out);
    } else if (what == "addr" || what == "agent" || what == "agent-addr" || what == "agent-port" ||
               what == "agent-send" || what == "check-addr" || what == "check-port" || what == "fqdn" ||
               what == "ssl") {
        err(out, fmt::format("'set server <srv> {}' is not supported by skjold (health, state, weight are).", what));
    } else {
        err(out, "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | "
                 "check-addr | check-port | fqdn | health | ssl | state | weight");
    }
}

void server_op(const Args& a, CliSession& s, CliContext& ctx, std::string& out, health::AdminCommand::Op op) {
    if (!has_level(s, CliLevel::admin, out)) return;
    health::ServerIndex idx;
    if (!find_server(ctx, arg(a, 2), idx, out)) return;
    health::AdminCommand cmd;
    cmd.op = op;
    cmd.proxy = idx.proxy;
    cmd.server = idx.server;
    apply(ctx, cmd, out);
}

void cmd_disable_server(const Args& a, CliSession& s, CliContext& c, std::string& o) { server_op(a, s, c, o, health::AdminCommand::Op::disable_server); }
void cmd_enable_server(const Args& a, CliSession& s, CliContext& c, std::string& o) { server_op(a, s, c, o, health::AdminCommand::Op::enable_server); }
void cmd_disable_health(const Args& a, CliSession& s, CliContext& c, std::string& o) { server_op(a, s, c, o, health::AdminCommand::Op::disable_health); }
void cmd_enable_health(const Args& a, CliSession& s, CliContext& c, std::string& o) { server_op(a, s, c, o, health::AdminCommand::Op::enable_health); }

void cmd_clear_counters(const Args& a, CliSession& s, CliContext& ctx, std::string& out) {
    bool all = arg(a, 2) == "all";
    if (!has_level(s, all ? CliLevel::admin : CliLevel::operator_, out)) return;
    if (all) ctx.history.clear_all(ctx.src, ctx.now_ms);
    else ctx.history.clear_max(ctx.src);
}

// --- the session ----------------------------------------------------------------------------

void cmd_set_timeout(const Args& a, CliSession& s, CliContext&, std::string& out) {
    if (arg(a, 2) != "cli") return err(out, "'set timeout' only supports 'cli'.");
    std::string_view v = arg(a, 3);
    if (v.empty()) return err(out, "Expects an integer value.");
    // Seconds by default, as HAProxy (TIME_UNIT_S); a unit suffix is accepted.
    char* end = nullptr;
    std::string text(v);
    long long n = std::strtoll(text.c_str(), &end, 10);
    std::string_view unit(end);
    long long ms = -1;
    if (end == text.c_str() || n < 0) ms = -1;
    else if (unit.empty() || unit == "s") ms = n * 1000;
    else if (unit == "ms") ms = n;
    else if (unit == "m") ms = n * 60000;
    else if (unit == "h") ms = n * 3600000;
    else if (unit == "d") ms = n * 86400000;
    if (ms < 1000) return err(out, "Invalid timeout value.");
    s.timeout_ms = ms;
}

void cmd_operator(const Args&, CliSession& s, CliContext&, std::string& out) {
    if (!has_level(s, CliLevel::operator_, out)) return;
    s.level = CliLevel::operator_;
}
void cmd_user(const Args&, CliSession& s, CliContext&, std::string&) { s.level = CliLevel::user; }

// In HAProxy's help order; help, prompt and quit come last, always (cli_gen_usage_msg).
const Command kCommands[] = {
    {{"clear", "counters", ""}, "clear counters [all]", "clear max statistics counters (or all counters)", cmd_clear_counters},
    {{"disable", "health", ""}, "disable health", "disable health checks", cmd_disable_health},
    {{"disable", "server", ""}, "disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)", cmd_disable_server},
    {{"enable", "health", ""}, "enable health", "enable health checks", cmd_enable_health},
    {{"enable", "server", ""}, "enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)", cmd_enable_server},
    {{"get", "weight", ""}, "get weight <bk>/<srv>", "report a server's current weight", cmd_get_weight},
    {{"operator", "", ""}, "operator", "lower the level of the current CLI session to operator", cmd_operator},
    {{"set", "server", ""}, "set server <bk>/<srv> [opts]", "change a server's state, health or weight", cmd_set_server},
    {{"set", "timeout", ""}, "set timeout [cli] <delay>", "change a timeout setting", cmd_set_timeout},
    {{"set", "weight", ""}, "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", cmd_set_weight},
    {{"show", "backend", ""}, "show backend", "list backends in the current running config", cmd_show_backend},
    {{"show", "cli", "level"}, "show cli level", "display the level of the current CLI session", cmd_show_cli_level},
    {{"show", "info", ""}, "show info", "report information about the running process", cmd_show_info},
    {{"show", "servers", "state"}, "show servers state [<backend>]", "dump volatile server information (all or for a single backend)", cmd_show_servers_state},
    {{"show", "stat", ""}, "show stat [no-maint|up]*", "report counters for each proxy and server", cmd_show_stat},
    {{"user", "", ""}, "user", "lower the level of the current CLI session to user", cmd_user},
};

constexpr std::string_view kSessionUsage =
    "  help [<command>]                        : list matching or all commands\n"
    "  prompt                                  : toggle interactive mode with prompt\n"
    "  quit                                    : disconnect\n";

std::size_t word_count(const Command& c) {
    std::size_t n = 0;
    while (n < c.words.size() && !c.words[n].empty()) ++n;
    return n;
}

const Command* find_command(const Args& a) {
    for (const auto& c : kCommands) {
        std::size_t n = word_count(c);
        if (a.size() < n) continue;
        bool ok = true;
        for (std::size_t i = 0; i < n && ok; ++i) ok = a[i] == c.words[i];
        if (ok) return &c;
    }
    return nullptr;
}

void usage_line(std::string& out, const Command& c) {
    fmt::format_to(std::back_inserter(out), "  {:<40}: {}\n", c.usage, c.help);
}

// A word's fingerprint for suggestions: how often each pair of adjacent characters occurs,
// letters folded to 26 classes, digits to one, everything else (and the word's edges) to one.
// Two commands are close when their fingerprints differ little.
using Fingerprint = std::array<std::uint8_t, 28 * 28>;

int char_class(char c) noexcept {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '0' && c <= '9') return 26;
    return 27;
}

void add_words(Fingerprint& fp, const std::vector<std::string_view>& words) {
    for (auto w : words) {
        int from = 27;
        for (char c : w) {
            int to = char_class(c);
            ++fp[static_cast<std::size_t>(from * 28 + to)];
            from = to;
        }
        ++fp[static_cast<std::size_t>(from * 28 + 27)];
    }
}

int distance(const Fingerprint& a, const Fingerprint& b) noexcept {
    int d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d += std::abs(int{a[i]} - int{b[i]});
    return d;
}

}  // namespace

CliLevel cli_level(conf::StatsSocket::Level l) noexcept {
    switch (l) {
    case conf::StatsSocket::Level::user: return CliLevel::user;
    case conf::StatsSocket::Level::operator_: return CliLevel::operator_;
    case conf::StatsSocket::Level::admin: return CliLevel::admin;
    }
    return CliLevel::user;
}

const char* cli_level_name(CliLevel l) noexcept {
    switch (l) {
    case CliLevel::user: return "user";
    case CliLevel::operator_: return "operator";
    case CliLevel::admin: return "admin";
    }
    return "user";
}

std::vector<std::vector<std::string>> split_commands(std::string_view line) {
    std::vector<std::vector<std::string>> cmds(1);
    std::string word;
    bool in_word = false;
    auto end_word = [&] {
        if (in_word) cmds.back().push_back(std::move(word));
        word.clear();
        in_word = false;
    };
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
            in_word = true;
        } else if (c == ';') {
            end_word();
            cmds.emplace_back();
        } else if (c == ' ' || c == '\t' || c == '\r') {
            end_word();
        } else {
            word += c;
            in_word = true;
        }
    }
    end_word();
    return cmds;
}

std::string usage_message(const Args& args, bool is_help) {
    // How many leading words match some command exactly.
    std::size_t length = 0;
    for (const auto& c : kCommands) {
        std::size_t n = word_count(c);
        for (std::size_t i = 0; i < n && i < args.size() && args[i] == c.words[i]; ++i) length = std::max(length, i + 1);
    }
    std::string out;
    if (is_help) out = "The following commands are valid at this level:\n";
    else if (length == 0 && args.empty()) out = "Unknown command. Please enter one of the following commands only:\n";
    else out = "Unknown command, but maybe one of the following ones is a better match:\n";

    auto prefix_matches = [&](const Command& c) {
        std::size_t n = word_count(c);
        for (std::size_t i = 0; i < length; ++i)
            if (i >= n || args[i] != c.words[i]) return false;
        return true;
    };
    // The words after the matching ones are compared by fingerprint; the five closest are
    // proposed, unless they are far worse than the best.
    std::vector<std::pair<int, const Command*>> close;
    if (length < args.size()) {
        Fingerprint want{};
        std::vector<std::string_view> rest(args.begin() + static_cast<std::ptrdiff_t>(length), args.end());
        add_words(want, rest);
        for (const auto& c : kCommands) {
            if (!prefix_matches(c) || word_count(c) <= length) continue;
            Fingerprint have{};
            add_words(have, std::vector<std::string_view>(c.words.begin() + static_cast<std::ptrdiff_t>(length),
                                                          c.words.begin() + static_cast<std::ptrdiff_t>(word_count(c))));
            close.emplace_back(distance(want, have), &c);
        }
        std::stable_sort(close.begin(), close.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        if (close.size() > 5) close.resize(5);
        if (!close.empty()) {
            int best = close.front().first;
            std::erase_if(close, [best](const auto& x) { return x.first > 5 * best / 2 && x.first > best; });
        }
    }
    if (!close.empty()) {
        for (const auto& [d, c] : close) usage_line(out, *c);
    } else {
        for (const auto& c : kCommands)
            if (prefix_matches(c)) usage_line(out, c);
    }
    out += kSessionUsage;
    return out;
}

void run_line(std::string_view line, CliSession& s, CliContext& ctx, std::string& out) {
    for (const auto& a : split_commands(line)) {
        if (s.closing) break;
        if (!a.empty() && a[0] == "quit") {
            s.closing = s.quit = true;
            break;
        }
        if (!a.empty() && a[0] == "prompt") {
            s.interactive = !s.interactive;
        } else if (!a.empty() && a[0] == "help") {
            out += usage_message(Args(a.begin() + 1, a.end()), true);
        } else if (const Command* c = find_command(a)) {
            c->run(a, s, ctx, out);
        } else {
            out += usage_message(a, false);
        }
        out += '\n';
        if (s.interactive) out += "> ";
    }
    // Non-interactive: one line, then close. Leaving interactive mode ("prompt" again) also
    // closes after this line, as HAProxy does.
    if (!s.interactive) s.closing = true;
}

void show_backend(std::string& out, const conf::Snapshot& snap) {
    out += "# name\n";
    for (const auto& p : snap.proxies)
        if (p.is_backend) {
            out += p.name;
            out += '\n';
        }
}

namespace {

// The address without its port, as `show servers state` prints srv_addr / srv_check_addr.
std::string ip_text(const core::SockAddr& a) {
    if (a.family() != AF_INET && a.family() != AF_INET6) return "-";
    std::string s = a.to_string();   // "1.2.3.4:80", "[::1]:80"
    s.erase(s.rfind(':'));
    if (!s.empty() && s.front() == '[') s = s.substr(1, s.size() - 2);
    return s;
}

}  // namespace

void show_servers_state(std::string& out, const StatsSource& src, int only_proxy, std::uint64_t now_ms) {
    out += "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
           "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
           "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
           "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";
    const auto& proxies = src.snap->proxies;
    for (std::size_t i = 0; i < proxies.size(); ++i) {
        int px = static_cast<int>(i);
        if (only_proxy >= 0 && px != only_proxy) continue;
        const health::BackendState* be = src.state ? src.state->backend(px) : nullptr;
        if (!proxies[i].is_backend || be == nullptr) continue;
        for (int sv = 0; sv < be->size() && sv < static_cast<int>(proxies[i].servers.size()); ++sv) {
            const conf::Server& cs = proxies[i].servers[static_cast<std::size_t>(sv)];
            const health::ServerState& st = be->server(sv);
            const health::CheckStats* chk = src.check_stats ? src.check_stats(px, sv) : nullptr;
            health::CheckStatus status = chk ? chk->status() : health::CheckStatus::ini;
            // Without `check`, HAProxy keeps the counter at rise while the server runs.
            int counter = st.check() ? st.health_counter() : (st.health() == health::Health::down ? 0 : st.rise());
            std::uint64_t changed = st.last_change_ms();
            fmt::format_to(std::back_inserter(out), "{} {} {} {} {} {} {} {} {} {} {} {} {} {} 0 0 0 - {} - {} {} {} - 0\n",
                           px + 1, proxies[i].name, sv + 1, cs.name, ip_text(cs.addr),
                           health::haproxy_op_state(st.health()), st.admin_flags(), st.user_weight(),
                           st.config_weight(), now_ms > changed ? (now_ms - changed) / 1000 : 0,
                           health::haproxy_check_status_code(status), health::haproxy_check_result(status), counter,
                           st.check_state_flags(), cs.addr.is_unix() ? 0 : cs.addr.port(), cs.opt.ssl ? 1 : 0,
                           cs.opt.check_port, cs.opt.check_addr ? ip_text(*cs.opt.check_addr) : std::string("-"));
        }
    }
}

}  // namespace skjold::proxy
