#pragma once
// ACL and condition compilation (control plane). Owner: conf/condition.cc.
// Called by the keyword handlers for `acl`, and for every `if|unless` suffix.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "conf/snapshot_types.hh"

namespace skjold::conf {

// `acl NAME FETCH[,CONV...] [FLAGS] [OPERATOR] [VALUES...]`: `args` are the words after `acl`.
// Appends to px.acls (ORed with an existing ACL of the same name). Reads -f files now.
// Returns an error message (without the FILE:LINE prefix) or nullopt.
std::optional<std::string> add_acl(Proxy& px, std::span<const std::string> args, const SourceLocRef& loc);

// `words` start at `if` or `unless`. Named ACLs must already be defined in px (as HAProxy
// requires); `{ ... }` anonymous ACLs are appended to px.acls.
core::Result<Condition, std::string> parse_condition(Proxy& px, std::span<const std::string> words,
                                                     const SourceLocRef& loc);

// After every section is parsed: resolves backend/server names used by nbsrv(), srv_is_up(),
// be_conn() in every proxy's ACLs. Appends "FILE:LINE: message" errors.
void resolve_conditions(Snapshot& snap, std::vector<std::string>& errors);

}  // namespace skjold::conf
