#pragma once
// The keyword table: the single source of truth for what skjold's configuration accepts.
// One row per keyword (section mask, argument synopsis, handler, one-line doc, feature tag);
// `skjold --keywords` prints it and tests/unit/conf/man_test.cc checks skjold.cfg(5) against it.
// `bind` and `server`/`default-server` options have their own small tables (same idea).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "conf/snapshot_types.hh"

namespace skjold::conf {

class ParseContext;

// Where a keyword may be written (HAProxy's matrix, configuration.txt 4.1). A listen section has
// both proxy capabilities: a keyword is allowed there when frontends or backends allow it.
enum SectionMask : std::uint8_t {
    kInGlobal = 1,
    kInDefaults = 2,
    kInFrontend = 4,
    kInBackend = 8,
    kInProxies = kInDefaults | kInFrontend | kInBackend,
};

enum KeywordFlag : std::uint8_t {
    kNegatable = 1,          // `no KEYWORD` is accepted (HAProxy's "(*)" options, `no log`)
    kNamedDefaultsOnly = 2,  // in a defaults section only when it has a name (HAProxy's "(!)")
    kStrictCapability = 4,   // in a proxy lacking the capability: error (HAProxy does so for
                             // server/default-server); otherwise a warning and it is ignored
    kNoEffect = 8,           // HAProxy process-model keyword: accepted with a warning, ignored
};

using KeywordHandler = void (*)(ParseContext& ctx, std::span<const std::string> args);

struct KeywordInfo {
    std::string_view name;       // may be several words: "timeout client", "http-request deny"
    std::uint8_t sections = 0;   // SectionMask bits
    std::string_view synopsis;   // arguments after the name
    KeywordHandler handler = nullptr;
    std::string_view doc;        // one line
    std::string_view feature;    // "" or the features (comma-separated) every use needs; the
                                 // handler may record more (mode http, bind ssl, server check)
    std::uint8_t flags = 0;      // KeywordFlag bits
};

std::span<const KeywordInfo> keyword_table();

// First words of multi-word keywords and of HAProxy keyword families skjold does not have, so
// that "'option foo' is not supported" names the full keyword.
bool is_keyword_family(std::string_view first_word);

// Options after `bind ADDR`.
struct BindOptionInfo {
    std::string_view name;
    std::string_view synopsis;   // "" for a flag
    int nargs = 0;               // 0 or 1
    void (*apply)(ParseContext& ctx, Bind& b, std::string_view arg) = nullptr;
    std::string_view doc;
    std::string_view feature;
};
std::span<const BindOptionInfo> bind_option_table();

// Options after `server NAME ADDR` and `default-server`.
struct ServerOptionInfo {
    std::string_view name;
    std::string_view synopsis;
    int nargs = 0;
    void (*apply)(ParseContext& ctx, ServerOptions& o, std::string_view arg) = nullptr;
    std::string_view doc;
    std::string_view feature;
};
std::span<const ServerOptionInfo> server_option_table();

}  // namespace skjold::conf
