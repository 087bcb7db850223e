#pragma once
// HTTP sample fetches (hdr, hdr_cnt, path, url, method and their ACL variants) answered from a
// parsed head. Owner: http-rules. Called by the HTTP session's FetchContext::fetch (acl_eval.hh
// contract) on the worker: noexcept, no allocation; samples point into the message's storage.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conf/condition_types.hh"
#include "proxy/acl_eval.hh"
#include "proxy/http_message.hh"

namespace skjold::proxy {

// The values of one header line as HAProxy's http_find_header() splits them: at commas outside
// double quotes (a backslash escapes inside quotes), spaces and tabs around each value removed.
// Empty values count: "a,,b" is three values, an empty line is one empty value.
class HeaderValueCursor {
public:
    explicit HeaderValueCursor(std::string_view line) noexcept : rest_(line) {}
    bool next(std::string_view& value) noexcept;   // false after the last value

private:
    std::string_view rest_;
    bool done_ = false;
};

// Number of values (as HeaderValueCursor splits them) of every live line named `name`;
// an empty name counts the values of every header (HAProxy's hdr_cnt()).
std::size_t count_header_values(const HttpMessage& msg, std::string_view name) noexcept;
// The n-th (0-based) value over every live line named `name`, in order. false: fewer values.
bool nth_header_value(const HttpMessage& msg, std::string_view name, std::size_t n, std::string_view& out) noexcept;

// Fetches hdr / req.hdr (FetchId::hdr, req_hdr), hdr_cnt, path, url and method from `msg`.
// hdr with f.occ == 0 (ACL use) answers value `index` of all occurrences, so the evaluator walks
// every value; f.occ > 0 is the occ-th value, f.occ < 0 counts from the last, both at index 0
// only. path: HttpMessage::path() ("*" has no path: no sample, as HAProxy). false when `msg` is
// null (tcp mode), the fetch is not an HTTP one, or the sample does not exist.
bool fetch_http(const conf::FetchCall& f, const HttpMessage* msg, std::size_t index, Sample& out) noexcept;
bool is_http_fetch(const conf::FetchCall& f) noexcept;

// The request target's path with its query, as HAProxy's redirect and monitor-uri use it
// (http_parse_path()): origin-form as is; absolute-form from the first '/' after the authority
// ("/" when there is none); "*" gives "".
std::string_view path_and_query(std::string_view uri) noexcept;

}  // namespace skjold::proxy
