#pragma once
// What a keyword handler sees: the Snapshot being built, the current section and proxy, where
// the line is, and ways to report errors, warnings and feature uses. Control plane only.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diagnostic.hh"
#include "conf/keywords.hh"
#include "conf/snapshot_types.hh"

namespace skjold::conf {

enum class SectionKind : std::uint8_t { none, global, defaults, frontend, backend, listen };

const char* section_name(SectionKind k) noexcept;

// Facts about the current section that handlers need and the Snapshot does not keep.
struct SectionState {
    SectionKind kind = SectionKind::none;
    bool named = false;                 // defaults with a name
    bool log_global_seen = false;
    bool check_send_seen = false, check_expect_seen = false;
    bool has_rules = false;             // tcp-request / http-request / http-response rules written
                                        // (a defaults section with rules has usage limits)
};

class ParseContext {
public:
    ParseContext(Snapshot& snap, std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings)
        : snap(snap), errors_(errors), warnings_(warnings) {}

    Snapshot& snap;
    SectionState section;
    Proxy* px = nullptr;                // current defaults/frontend/backend/listen; null in global
    SourceLoc loc;                      // the line being parsed
    std::string keyword;                // the keyword as matched: "timeout client"
    bool negated = false;               // the line started with `no`

    // "FILE:LINE: 'keyword': message"
    void error(std::string_view message);
    // "FILE:LINE: message"
    void error_plain(std::string message);
    void warn(std::string_view message);          // "FILE:LINE: 'keyword': message"
    void warn_plain(std::string message);
    bool failed() const noexcept { return errors_.size() != errors_at_line_start_; }
    void start_line(SourceLoc l, std::string kw, bool neg);

    // Records that this line uses `features` (comma-separated); `what` names the keyword or
    // option ("bind ssl"), default: the keyword.
    void use(std::string_view features, std::string_view what = {});

    // Argument checks and value parsers: report an error naming the keyword and return nullopt.
    bool expect_count(std::span<const std::string> args, std::size_t min, std::size_t max);
    std::optional<Millis> time(std::string_view what, std::string_view word, Millis bare_unit_ms = 1);
    std::optional<std::uint64_t> size(std::string_view what, std::string_view word, std::uint64_t max);
    std::optional<std::int64_t> integer(std::string_view what, std::string_view word, std::int64_t lo,
                                        std::int64_t hi);
    // Reads a whole file (errorfile, http-request return file). nullopt after an error.
    std::optional<std::string> read_file(std::string_view what, const std::string& path);
    // An existing readable file or directory (crt, ca-file, geoip-db). false after an error.
    bool check_readable(std::string_view what, const std::string& path);

    const char* proxy_kind() const noexcept;   // "frontend", "backend", "listen", "defaults"

    std::vector<Diagnostic>& errors() { return errors_; }
    std::vector<Diagnostic>& warnings() { return warnings_; }

private:
    std::vector<Diagnostic>& errors_;
    std::vector<Diagnostic>& warnings_;
    std::size_t errors_at_line_start_ = 0;
};

}  // namespace skjold::conf
