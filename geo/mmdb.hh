#pragma once
// MaxMind DB import: the whole tree of an .mmdb file is walked once at load (libmaxminddb) and
// compiled into a ValueTable, so a lookup at run time never touches libmaxminddb.
// Owner: the geo "mmdb" helper. The walk itself (and the list of networks with their prefixes,
// which the `skjold geo` tools print) is geo/mmdb_reader.hh.

#include <string>
#include <string_view>

#include "core/result.hh"
#include "geo/mmdb_reader.hh"
#include "geo/value_table.hh"

namespace skjold::geo {

// `field` is a dotted path into each record: "country.iso_code" (the default of geoip()),
// "registered_country.iso_code", "continent.code", "city.names.en", ... Networks without that
// field are left out. Errors carry libmaxminddb's message and the file name (see read_mmdb_field).
// IPv4 networks go in as ::ffff:a.b.c.d/(96+n), so IPv4 and IPv4-mapped clients both find them.
core::Result<ValueTable> load_mmdb_field(const std::string& file, std::string_view field);

// The table of networks already read (the tools keep the list to print prefixes).
ValueTable compile_mmdb_field(const MmdbField& f);

}  // namespace skjold::geo
