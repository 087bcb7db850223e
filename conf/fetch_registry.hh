#pragma once
// The table of ACL fetch keywords and converters (control plane). Later issues extend it by
// adding rows in conf/fetch_registry.cc (and, for a new fetch, a FetchId and the code that
// answers it in their FetchContext). Owner: the conditions helper.

#include <cstdint>
#include <span>
#include <string_view>

#include "conf/condition_types.hh"

namespace skjold::conf {

// What a fetch or converter argument must be; checked at load.
enum class ArgKind : std::uint8_t {
    none,
    str,        // any text (header name, file)
    integer,    // a decimal integer, may be negative
    backend,    // a backend name, resolved by resolve_conditions()
    frontend,   // a frontend name, resolved by resolve_conditions()
    server,     // "backend/server" or "server" (in the current proxy)
};

struct FetchDef {
    std::string_view keyword;        // as written in `acl`: "hdr_sub", "req.hdr", "src"
    FetchId id;
    SampleType type;                 // output type
    MatchMethod method;              // default match method (without converters)
    std::uint8_t min_args = 0, max_args = 0;
    ArgKind args[2] = {ArgKind::none, ArgKind::none};
    bool multi_valued = false;       // walked with index 0,1,2... (hdr: every occurrence)
    bool http = false;               // needs an HTTP request (the HTTP issue answers it)
};

struct ConverterDef {
    std::string_view keyword;
    ConverterId id;
    SampleType in, out;              // `in`: what the converter takes (others are cast to it)
    std::uint8_t min_args = 0, max_args = 0;
    bool geo = false;                // implemented by the geo issue
};

const FetchDef* find_fetch(std::string_view keyword) noexcept;
const ConverterDef* find_converter(std::string_view keyword) noexcept;
std::span<const FetchDef> fetch_table() noexcept;
std::span<const ConverterDef> converter_table() noexcept;

// The match method HAProxy uses for a sample type when the keyword does not impose one
// (plain sample fetches, and any keyword followed by converters).
MatchMethod default_method(SampleType t) noexcept;

// HAProxy's predefined ACLs (acl.c default_acl_list) that only need fetches skjold has:
// the words after the name, as an `acl` line would give them. nullptr when unknown.
std::span<const std::string_view> predefined_acl(std::string_view name) noexcept;

}  // namespace skjold::conf
