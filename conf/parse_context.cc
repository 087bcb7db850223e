#include "conf/parse_context.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/values.hh"

namespace skjold::conf {

const char* section_name(SectionKind k) noexcept {
    switch (k) {
    case SectionKind::none: return "none";
    case SectionKind::global: return "global";
    case SectionKind::defaults: return "defaults";
    case SectionKind::frontend: return "frontend";
    case SectionKind::backend: return "backend";
    case SectionKind::listen: return "listen";
    }
    return "?";
}

void ParseContext::start_line(SourceLoc l, std::string kw, bool neg) {
    loc = std::move(l);
    keyword = std::move(kw);
    negated = neg;
    errors_at_line_start_ = errors_.size();
}

void ParseContext::error(std::string_view message) {
    errors_.push_back(Diagnostic{loc.file, loc.line, "'" + keyword + "': " + std::string(message)});
}

void ParseContext::error_plain(std::string message) {
    errors_.push_back(Diagnostic{loc.file, loc.line, std::move(message)});
}

void ParseContext::warn(std::string_view message) {
    warnings_.push_back(Diagnostic{loc.file, loc.line, "'" + keyword + "': " + std::string(message)});
}

void ParseContext::warn_plain(std::string message) {
    warnings_.push_back(Diagnostic{loc.file, loc.line, std::move(message)});
}

void ParseContext::use(std::string_view features, std::string_view what) {
    std::string kw = what.empty() ? keyword : std::string(what);
    while (!features.empty()) {
        std::size_t comma = features.find(',');
        std::string_view f = features.substr(0, comma);
        if (!f.empty()) snap.feature_uses.push_back(FeatureUse{std::string(f), loc, kw});
        if (comma == std::string_view::npos) break;
        features.remove_prefix(comma + 1);
    }
}

bool ParseContext::expect_count(std::span<const std::string> args, std::size_t min, std::size_t max) {
    if (args.size() >= min && args.size() <= max) return true;
    if (args.size() > max) {
        error("unexpected argument '" + args[max] + "'");
    } else if (min == max) {
        error("expects " + std::to_string(min) + (min == 1 ? " argument" : " arguments") + ", got " +
              std::to_string(args.size()));
    } else {
        error("expects at least " + std::to_string(min) + (min == 1 ? " argument" : " arguments"));
    }
    return false;
}

std::optional<Millis> ParseContext::time(std::string_view what, std::string_view word, Millis bare_unit_ms) {
    auto r = parse_time(word, bare_unit_ms);
    if (!r) {
        error(what.empty() ? r.error() : std::string(what) + ": " + r.error());
        return std::nullopt;
    }
    return *r;
}

std::optional<std::uint64_t> ParseContext::size(std::string_view what, std::string_view word, std::uint64_t max) {
    auto r = parse_size(word, max);
    if (!r) {
        error(what.empty() ? r.error() : std::string(what) + ": " + r.error());
        return std::nullopt;
    }
    return *r;
}

std::optional<std::int64_t> ParseContext::integer(std::string_view what, std::string_view word, std::int64_t lo,
                                                  std::int64_t hi) {
    auto r = parse_int(word, lo, hi);
    if (!r) {
        error(what.empty() ? r.error() : std::string(what) + ": " + r.error());
        return std::nullopt;
    }
    return *r;
}

namespace {
std::string prefixed(std::string_view what, std::string message) {
    return what.empty() ? message : std::string(what) + ": " + message;
}
}  // namespace

std::optional<std::string> ParseContext::read_file(std::string_view what, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    struct stat st{};
    if (!in || ::stat(path.c_str(), &st) != 0) {
        int e = errno;
        error(prefixed(what, "cannot open '" + path + "': " + std::strerror(e ? e : ENOENT)));
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
        error(prefixed(what, "'" + path + "' is a directory"));
        return std::nullopt;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        error(prefixed(what, "cannot read '" + path + "'"));
        return std::nullopt;
    }
    return data;
}

bool ParseContext::check_readable(std::string_view what, const std::string& path) {
    if (::access(path.c_str(), R_OK) != 0) {
        int e = errno;
        error(prefixed(what, "cannot open '" + path + "': " + std::strerror(e)));
        return false;
    }
    return true;
}

const char* ParseContext::proxy_kind() const noexcept { return section_name(section.kind); }

}  // namespace skjold::conf
