#pragma once
// ACL and condition evaluation on the data path: noexcept, no allocation, no locks.
// Owner: the conditions helper. Inputs are the compiled forms of conf/condition_types.hh and a
// FetchContext implemented by the session (tcp now, http later).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "conf/condition_types.hh"
#include "conf/snapshot_types.hh"
#include "geo/address.hh"

namespace skjold::proxy {

// One sample value. `s` points into memory the FetchContext keeps alive until the next call
// of fetch() (typically the request buffer).
struct Sample {
    conf::SampleType type = conf::SampleType::none;
    bool b = false;
    std::int64_t i = 0;
    geo::IpAddr ip{};
    std::string_view s{};
};

class FetchContext {   // implemented by sessions (tcp now, http later)
public:
    // Fills `out` for fetch `f`; false when the sample does not exist. Multi-valued fetches
    // (hdr: every occurrence, HAProxy semantics: each comma-separated value of each header
    // line, f.occ selecting one when non-zero; never asked when f.arg is empty) are walked
    // with index 0,1,2... until false;
    // single-valued fetches are only asked for index 0. always_true/always_false never reach
    // the context. nbsrv/be_conn/fe_conn/srv_is_up use f.backend/f.server (resolved at load).
    virtual bool fetch(const conf::FetchCall& f, std::size_t index, Sample& out) noexcept = 0;

protected:
    ~FetchContext() = default;
};

// Longest value the lower/upper converters handle (HAProxy's trash chunk is tune.bufsize,
// 16 KiB by default). A longer value makes the converter fail: that sample does not match,
// as in HAProxy when smp_make_rw() cannot copy it.
inline constexpr std::size_t kMaxConvertedBytes = 16384;

// At most this many values of one multi-valued fetch are examined per ACL expression.
inline constexpr std::size_t kMaxSamplesPerFetch = 1024;

// No condition (`present == false`) -> true. `unless` inverts the result.
bool evaluate(const conf::Condition& c, const conf::Proxy& px, FetchContext& ctx) noexcept;

// True when one of the ACL's lines (ORed) matches. A missing sample does not match.
bool acl_matches(const conf::Acl& acl, FetchContext& ctx) noexcept;

// A sample expression as text, for log-format values (`%[src]`, `%[hdr(host),lower]`): the
// fetch's first value (index 0), the converters, then HAProxy's cast to string. `out` stays
// valid until the next call on this thread (numbers and addresses are printed into a
// thread-local buffer). false: the sample does not exist or a conversion failed.
bool fetch_string(const conf::FetchCall& f, const std::vector<conf::ConverterCall>& converters, FetchContext& ctx,
                  std::string_view& out) noexcept;

}  // namespace skjold::proxy
