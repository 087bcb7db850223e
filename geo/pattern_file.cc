// Pattern file reading; the line rules are documented in pattern_file.hh.
#include "geo/pattern_file.hh"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace skjold::geo {

core::Result<std::vector<PatternLine>> read_pattern_lines(const std::string& path, Trailing trailing) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int e = errno;
        return core::fail(core::Errc::io, "failed to open pattern file <" + path + ">: " + std::strerror(e), e);
    }
    std::vector<PatternLine> out;
    std::string raw;
    int line = 0;
    while (std::getline(in, raw)) {
        ++line;
        if (!raw.empty() && raw[0] == '#') continue;
        std::size_t b = 0;
        while (b < raw.size() && (raw[b] == ' ' || raw[b] == '\t')) ++b;
        std::size_t e = b;
        while (e < raw.size() && raw[e] != '\r' && raw[e] != '\n') ++e;
        if (trailing == Trailing::trim)
            while (e > b && (raw[e - 1] == ' ' || raw[e - 1] == '\t')) --e;
        if (e == b) continue;
        out.push_back(PatternLine{line, raw.substr(b, e - b)});
    }
    if (in.bad()) {
        int e = errno;
        return core::fail(core::Errc::io, "error while reading pattern file <" + path + ">: " + std::strerror(e), e);
    }
    return out;
}

core::Result<IpPatternSet, std::vector<std::string>> load_ip_patterns(const std::string& path, NameLookup lookup) {
    auto lines = read_pattern_lines(path, Trailing::trim);
    if (!lines) return core::Unexpected{std::vector<std::string>{lines.error().detail}};
    IpPatternSet set;
    std::vector<std::string> errors;
    set.prefixes.reserve(lines->size());
    for (const auto& l : *lines) {
        auto p = parse_ip_pattern(l.text, lookup);
        if (!p) {
            errors.push_back(path + ":" + std::to_string(l.line) + ": " + p.error().detail);
            continue;
        }
        if (p->masked) set.masked.push_back(p->masked_v4);
        else set.prefixes.push_back(p->prefix);
    }
    if (!errors.empty()) return core::Unexpected{std::move(errors)};
    return set;
}

}  // namespace skjold::geo
