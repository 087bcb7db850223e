#pragma once
// `map_ip(FILE)` map files (control plane only; read at load). Owner: the geo "table" helper.
// Lines as HAProxy's pat_ref_read_from_file_smp() reads them: a line whose first character is
// '#' is a comment, blank lines are skipped, leading blanks are skipped; the key runs to the
// first space or tab, the value is the rest of the line after the blanks that follow the key
// (it may contain spaces; trailing blanks and CR are dropped, a key alone has the empty value).
// Keys are strict addresses or CIDR prefixes, IPv4 and IPv6 mixed: HAProxy's map_ip never
// resolves keys, so the inet_aton short forms ("10.12") are errors, as is a non-contiguous mask.
// Duplicate keys: the last line wins; nested prefixes: the most specific one matches.

#include <string>

#include "core/result.hh"
#include "geo/value_table.hh"

namespace skjold::geo {

// Errors: "failed to open map file <PATH>: strerror", or one "PATH:LINE: ..." per malformed
// line (the first 10, then a count), joined with "; ". Nothing is returned half-loaded.
core::Result<ValueTable> load_ip_map(const std::string& path);

}  // namespace skjold::geo
