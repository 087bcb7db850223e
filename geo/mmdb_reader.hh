#pragma once
// Reads a MaxMind DB (.mmdb) with libmaxminddb: opens it, walks its whole search tree once and
// lists every network with the value of one field. Control plane only (load time and the
// `skjold geo` tools); the data path looks addresses up in the ValueTable built from this list
// (geo/mmdb.hh) and never touches libmaxminddb.
// Owner: the geo "mmdb" helper.
//
// Address space: the 16 bytes of geo/address.hh. In an IPv6-tree database the IPv4 networks
// live under ::/96 (::a.b.c.d); they are reported as ::ffff:a.b.c.d/(96+n), the form IpAddr
// gives IPv4 clients. The aliases that MaxMind writers insert back to the IPv4 subtree
// (::ffff:0:0/96, 2002::/16 and any other search-node record pointing at the IPv4 root) are not
// walked again, and nothing under ::ffff:0:0/96 itself is taken from the tree: that space
// belongs to IPv4. An IPv4-tree database (ip_version 4) maps directly to ::ffff:0:0/96.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hh"
#include "geo/address.hh"

namespace skjold::geo {

struct MmdbNetwork {
    static constexpr std::uint32_t kNoValue = 0xFFFFFFFFu;   // the record lacks the field

    Prefix prefix;
    std::uint32_t value = kNoValue;   // index into MmdbField::values
};

struct MmdbField {
    std::string file;
    std::string database_type;           // metadata: "GeoIP2-Country", ...
    std::uint64_t build_epoch = 0;       // metadata: seconds since 1970
    int ip_version = 6;                  // metadata: 4 or 6
    // Every network whose record points into the data section, in tree order (ascending, IPv4
    // networks where the tree holds them). Disjoint: the tree's leaves never overlap, except
    // that a record above ::/96 also covering IPv4 is reported twice (as itself, and as
    // ::ffff:0:0/96 so IPv4 clients find it as libmaxminddb would).
    std::vector<MmdbNetwork> networks;
    std::vector<std::string> values;     // distinct values of the field, in order of first use
    std::size_t with_value() const noexcept;   // networks whose record has the field
};

// Walks the whole tree of `file` and reads `field` (a dotted path, "country.iso_code",
// "city.names.en", "subdivisions.0.iso_code") from each network's record. Strings are taken as
// they are; numbers and booleans as their decimal text ("true"/"false"). A field that names a
// map or an array is an error. Errors: "FILE: <libmaxminddb message>" (Errc::not_found when
// the file does not exist, Errc::io for other open failures, Errc::invalid_argument for a
// corrupt database or a bad field).
core::Result<MmdbField> read_mmdb_field(const std::string& file, std::string_view field);

}  // namespace skjold::geo
