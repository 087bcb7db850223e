#pragma once
// Value syntaxes shared by keyword handlers: times, sizes, bounded integers, names.
// Errors are messages without FILE:LINE or keyword; the caller adds both.

#include <cstdint>
#include <string>
#include <string_view>

#include "conf/snapshot_types.hh"
#include "core/result.hh"

namespace skjold::conf {

inline constexpr Millis kMaxTimeMs = 2147483647;   // HAProxy's limit (~24.8 days)

// HAProxy time format (configuration.txt 2.5): digits then us|ms|s|m|h|d; a bare number is in
// `bare_unit_ms` milliseconds (1 for most keywords, 1000 for tune.ssl.lifetime). Microseconds
// round up to the next millisecond. Rejects signs, fractions, junk and values above kMaxTimeMs.
core::Result<Millis, std::string> parse_time(std::string_view s, Millis bare_unit_ms = 1);

// Size: digits then an optional k|m|g (either case, powers of 1024); a bare number is bytes.
core::Result<std::uint64_t, std::string> parse_size(std::string_view s, std::uint64_t max);

// Decimal integer in [lo, hi]; no sign unless lo < 0, no junk.
core::Result<std::int64_t, std::string> parse_int(std::string_view s, std::int64_t lo, std::int64_t hi);

// Proxy, server and defaults names: letters, digits, '-', '_', '.', ':' (HAProxy's rule).
bool is_valid_name(std::string_view s);

// HTTP header field name (RFC 9110 token).
bool is_valid_header_name(std::string_view s);

}  // namespace skjold::conf
