#include "health/admin_command.hh"

#include <algorithm>
#include <charconv>

namespace skjold::health {

namespace {

// "#N": 1-based position; -1 if `text` is not of that form or out of range.
int by_id(std::string_view text, std::size_t count) noexcept {
    if (text.size() < 2 || text.front() != '#') return -1;
    int n = 0;
    const auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || static_cast<std::size_t>(n) > count) return -1;
    return n - 1;
}

}  // namespace

core::Result<ServerIndex> find_server(const conf::Snapshot& snap, std::string_view arg) {
    const auto slash = arg.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == arg.size())
        return core::fail(core::Errc::invalid_argument, "Require 'backend/server'.");
    const std::string_view bname = arg.substr(0, slash), sname = arg.substr(slash + 1);

    int p = by_id(bname, snap.proxies.size());
    if (p < 0) p = snap.find_proxy(bname);
    if (p < 0 || !snap.proxies[static_cast<std::size_t>(p)].is_backend)
        return core::fail(core::Errc::not_found, "No such backend.");
    const auto& servers = snap.proxies[static_cast<std::size_t>(p)].servers;
    int s = by_id(sname, servers.size());
    if (s < 0) {
        const auto it = std::find_if(servers.begin(), servers.end(), [&](const conf::Server& x) { return x.name == sname; });
        if (it != servers.end()) s = static_cast<int>(it - servers.begin());
    }
    if (s < 0) return core::fail(core::Errc::not_found, "No such server.");
    return ServerIndex{p, s};
}

// server_parse_weight_change_request(): strtol, then '%' or the end.
core::Result<WeightArg> parse_weight(std::string_view text) {
    if (text.empty()) return core::fail(core::Errc::invalid_argument, "Require <weight> or <weight%>.");
    long v = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    // strtol accepts leading blanks and a '+'; from_chars does not.
    while (first != last && (*first == ' ' || *first == '\t')) ++first;
    if (first != last && *first == '+') ++first;
    const auto [end, ec] = std::from_chars(first, last, v);
    if (end == first || ec == std::errc::invalid_argument)
        return core::fail(core::Errc::invalid_argument, "Empty weight string empty or preceded by garbage");
    if (ec == std::errc::result_out_of_range) v = *first == '-' ? -1 : 1000000;
    if (end + 1 == last && *end == '%') {
        if (v < 0) return core::fail(core::Errc::invalid_argument, "Relative weight must be positive.");
        return WeightArg{static_cast<int>(std::min<long>(v, 25600)), true};   // HAProxy's overflow guard
    }
    if (v < 0 || v > kMaxWeight)
        return core::fail(core::Errc::invalid_argument, "Absolute weight can only be between 0 and 256 inclusive.");
    if (end != last) return core::fail(core::Errc::invalid_argument, "Trailing garbage in weight string");
    return WeightArg{static_cast<int>(v), false};
}

int resolve_weight(int configured_weight, WeightArg w) noexcept {
    if (!w.percent) return std::clamp(w.value, 0, kMaxWeight);
    const long v = static_cast<long>(configured_weight) * std::clamp(w.value, 0, 25600) / 100;
    return static_cast<int>(std::min<long>(v, kMaxWeight));
}

}  // namespace skjold::health
