#pragma once
// Compiled ACLs and conditions: data only. Compiled once at load (conf/condition.cc);
// evaluated on the data path without allocation (proxy/acl_eval.cc).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geo/address.hh"
#include "geo/ip_matcher.hh"
#include "geo/value_table.hh"

namespace skjold::conf {

// Sample fetches. A keyword such as `hdr_sub(NAME)` is the fetch `hdr` with match method `sub`.
// The keyword table is conf/fetch_registry.cc. `req.hdr` compiles to `hdr` (HAProxy's ACL
// keyword `hdr` is req.hdr); `req_hdr` is never produced.
enum class FetchId : std::uint8_t {
    src, src_port, dst, dst_port,
    ssl_fc, ssl_fc_sni,
    hdr, req_hdr, hdr_cnt, path, url, method,
    nbsrv, srv_is_up, fe_conn, be_conn,
    always_true, always_false,
    ssl_fc_protocol, ssl_fc_alpn,
};

enum class ConverterId : std::uint8_t { lower, upper, map_ip, geoip };

enum class SampleType : std::uint8_t { none, boolean, integer, ip, str };

// -m methods, plus `boolean` (a fetch that answers true/false) and `integer`.
// `dir`: like dom with the delimiters '/' and '?' (HAProxy's -m dir).
enum class MatchMethod : std::uint8_t { found, boolean, integer, ip, str, beg, end, sub, dom, len, dir };

enum class IntOp : std::uint8_t { eq, ne, lt, le, gt, ge };

// eq: lo <= v <= hi (a single value has lo == hi; HAProxy's "lo:hi" / "lo-hi" ranges; ":x" and
// "x:" are stored as le x / ge x). lt/le/gt/ge/ne compare with lo.
struct IntPattern {
    IntOp op = IntOp::eq;
    std::int64_t lo = 0, hi = 0;
};

struct FetchCall {
    FetchId id = FetchId::always_true;
    std::string arg;                      // header name, backend name, "backend/server"
    int backend = -1, server = -1;        // resolved for nbsrv, srv_is_up, be_conn; fe_conn puts
                                          // the frontend's proxy index in `backend`
    int occ = 0;                          // hdr(NAME,OCC): 0 = every occurrence (ACL default),
                                          // N > 0 the Nth, N < 0 the Nth from the end
};

struct ConverterCall {
    ConverterId id = ConverterId::lower;
    std::vector<std::string> args;
    int table = -1;                       // map_ip / geoip: index into Snapshot::geo_tables
    const geo::ValueTable* value_table = nullptr;   // == Snapshot::geo_tables[table].get(), set at
                                          // load (conf/condition.cc); owned by the Snapshot, which
                                          // outlives every evaluation
};

struct SourceLocRef {
    std::string file;
    int line = 0;
};

// One `acl NAME ...` line (or one anonymous `{ ... }`).
struct AclExpr {
    SourceLocRef loc;
    FetchCall fetch;
    std::vector<ConverterCall> converters;
    MatchMethod method = MatchMethod::boolean;
    bool ignore_case = false;             // -i
    bool no_dns = false;                  // -n
    std::vector<std::string> strings;     // str/beg/end/sub/dom/dir patterns as written; `str`
                                          // patterns sorted (case-folded with -i) for binary search
    std::vector<IntPattern> ints;         // integer patterns (also `len`)
    std::vector<geo::Prefix> prefixes;    // ip patterns (inline and -f files)
    std::vector<geo::MaskedV4> masked_v4; // ip patterns with non-contiguous IPv4 masks
    geo::IpMatcher ip_matcher;            // built from prefixes + masked_v4 at load (a PrefixTable)
    std::string keyword;                  // the fetch keyword as written ("hdr_sub"), for messages
    bool uses_geo = false;                // a map_ip()/geoip() converter: its table is loaded after parsing
    bool needs_http = false;              // the fetch needs an HTTP request (hdr, path, method, ...)
};

// A named ACL: HAProxy ORs every `acl` line with the same name.
struct Acl {
    std::string name;                     // empty for an anonymous ACL
    std::vector<AclExpr> exprs;
};

struct Term {
    std::uint32_t acl = 0;                // index into Proxy::acls
    bool negate = false;
};

// `if|unless` followed by terms: implicit AND, `||`/`or` separates OR groups.
struct Condition {
    bool present = false;                 // false: no if/unless, always true
    bool unless = false;
    std::vector<std::vector<Term>> any_of;   // OR of AND groups
};

}  // namespace skjold::conf
