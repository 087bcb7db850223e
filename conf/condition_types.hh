#pragma once
// Compiled ACLs and conditions: data only. Compiled once at load (conf/condition.cc);
// evaluated on the data path without allocation (proxy/acl_eval.cc).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geo/address.hh"

namespace skjold::conf {

// Sample fetches. A keyword such as `hdr_sub(NAME)` is the fetch `hdr` with match method `sub`.
enum class FetchId : std::uint8_t {
    src, src_port, dst, dst_port,
    ssl_fc, ssl_fc_sni,
    hdr, req_hdr, hdr_cnt, path, url, method,
    nbsrv, srv_is_up, fe_conn, be_conn,
    always_true, always_false,
};

enum class ConverterId : std::uint8_t { lower, upper, map_ip, geoip };

enum class SampleType : std::uint8_t { none, boolean, integer, ip, str };

// -m methods, plus `boolean` (a fetch that answers true/false) and `integer`.
enum class MatchMethod : std::uint8_t { found, boolean, integer, ip, str, beg, end, sub, dom, len };

enum class IntOp : std::uint8_t { eq, ne, lt, le, gt, ge };

struct IntPattern {
    IntOp op = IntOp::eq;
    std::int64_t lo = 0, hi = 0;          // eq with a range "lo:hi" (HAProxy syntax) when lo != hi
};

struct FetchCall {
    FetchId id = FetchId::always_true;
    std::string arg;                      // header name, backend name, "backend/server"
    int backend = -1, server = -1;        // resolved for nbsrv, srv_is_up, be_conn
};

struct ConverterCall {
    ConverterId id = ConverterId::lower;
    std::vector<std::string> args;
    int table = -1;                       // map_ip / geoip: index of the loaded table (geo issue)
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
    std::vector<std::string> strings;     // str/beg/end/sub/dom/len patterns (lower-cased when -i)
    std::vector<IntPattern> ints;         // integer patterns (also `len`)
    std::vector<geo::Prefix> prefixes;    // ip patterns (inline and -f files); the geo issue
                                          // replaces the linear matcher with its LPM table
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
