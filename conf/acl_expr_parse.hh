#pragma once
// Parses the sample expression of an ACL: `FETCH[(ARGS)][,CONV[(ARGS)]...]` (control plane).
// Owner: the conditions helper. Arguments are split on ',' inside the parentheses (no quoting
// inside a word: the configuration lexer has already removed quotes).

#include <string>
#include <string_view>
#include <vector>

#include "conf/condition_types.hh"
#include "core/result.hh"

namespace skjold::conf {

struct ParsedExpr {
    std::string keyword;                     // the fetch keyword as written ("hdr_sub")
    FetchCall fetch;
    std::vector<ConverterCall> converters;
    SampleType type = SampleType::none;      // output type after the converters
    MatchMethod method = MatchMethod::found; // default match method (keyword's, or the type's
                                             // when there are converters, as HAProxy does)
    bool uses_geo = false;                   // map_ip / geoip
    bool needs_http = false;                 // FetchDef::http
};

// Error: a message naming the expression, e.g. "unknown fetch method 'foo' in ACL expression 'foo(1)'".
core::Result<ParsedExpr, std::string> parse_acl_expression(std::string_view text);

}  // namespace skjold::conf
