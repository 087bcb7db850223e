#include "geo/map_file.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>
#include <vector>

namespace skjold::geo {

namespace {

constexpr std::size_t kShownErrors = 10;

bool blank(char c) noexcept { return c == ' ' || c == '\t'; }

}  // namespace

core::Result<ValueTable> load_ip_map(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int e = errno;
        return core::fail(core::Errc::io, "failed to open map file <" + path + ">: " + std::strerror(e), e);
    }
    ValueTable out;
    PrefixTable::Builder builder;
    std::unordered_map<std::string, std::uint32_t> ids;
    std::vector<std::string> errs;
    std::string raw;
    int line = 0;
    while (std::getline(in, raw)) {
        ++line;
        if (!raw.empty() && raw[0] == '#') continue;
        std::size_t b = 0;
        while (b < raw.size() && blank(raw[b])) ++b;
        std::size_t end = raw.size();
        while (end > b && (blank(raw[end - 1]) || raw[end - 1] == '\r' || raw[end - 1] == '\n')) --end;
        if (end == b) continue;
        std::size_t k = b;
        while (k < end && !blank(raw[k])) ++k;
        std::size_t v = k;
        while (v < end && blank(raw[v])) ++v;
        std::string key = raw.substr(b, k - b), value = raw.substr(v, end - v);

        auto pat = parse_ip_pattern(key, NameLookup::none);
        if (!pat) {
            errs.push_back(path + ":" + std::to_string(line) + ": " + pat.error().detail);
            continue;
        }
        if (pat->masked) {
            errs.push_back(path + ":" + std::to_string(line) + ": '" + key +
                           "': a non-contiguous mask is not supported in a map_ip file");
            continue;
        }
        auto [it, fresh] = ids.emplace(value, static_cast<std::uint32_t>(out.values.size()));
        if (fresh) out.values.push_back(value);
        builder.add(pat->prefix, it->second);
        ++out.networks;
    }
    if (in.bad()) {
        int e = errno;
        return core::fail(core::Errc::io, "error while reading map file <" + path + ">: " + std::strerror(e), e);
    }
    if (!errs.empty()) {
        std::string msg;
        for (std::size_t i = 0; i < errs.size() && i < kShownErrors; ++i) msg += (i ? "; " : "") + errs[i];
        if (errs.size() > kShownErrors) msg += "; and " + std::to_string(errs.size() - kShownErrors) + " more malformed lines";
        return core::fail(core::Errc::invalid_argument, msg);
    }
    out.table = builder.build();
    return out;
}

}  // namespace skjold::geo
