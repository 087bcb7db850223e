// ACL evaluation, following HAProxy 2.6's acl_exec_cond() and pattern.c matchers:
//   - a condition is an OR of AND groups; a term's ACL is an OR of its lines; within a line,
//     every value of a multi-valued fetch is tried until one matches;
//   - a sample that does not exist, or whose conversion fails, does not match (so `!acl` is true);
//   - samples are cast to the match method's type as HAProxy's sample_casts do (int <-> str,
//     ip -> str, str -> ip, ip(v4) -> int, bool -> int);
//   - -m dom / -m dir: the pattern must appear between delimiters ('/', '?', '.', ':' for dom;
//     '/', '?' for dir) or the ends of the value; delimiters around the pattern are ignored
//     (pattern.c match_word());
//   - `method`: a request with one of the eight known methods matches only the exact (case-
//     sensitive) name even with -i; other methods compare as strings (pat_match_meth());
//   - `hdr` without a header name never matches (smp_fetch_hdr() returns no sample).
// Both last points were checked with curl against HAProxy 2.6.12 in a network namespace.
#include "proxy/acl_eval.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace skjold::proxy {

namespace {

using conf::MatchMethod;
using conf::SampleType;

// Scratch space for lower/upper. One per thread: evaluation never re-enters itself.
thread_local char t_scratch[kMaxConvertedBytes];

char fold(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_n(const char* a, const char* b, std::size_t n, bool icase) noexcept {
    if (!icase) return std::memcmp(a, b, n) == 0;
    for (std::size_t i = 0; i < n; ++i)
        if (fold(a[i]) != fold(b[i])) return false;
    return true;
}

int compare(std::string_view a, std::string_view b, bool icase) noexcept {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto ca = static_cast<unsigned char>(icase ? fold(a[i]) : a[i]);
        auto cb = static_cast<unsigned char>(icase ? fold(b[i]) : b[i]);
        if (ca != cb) return ca < cb ? -1 : 1;
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

// A sample being converted; `small` holds int/ip text forms.
struct Work {
    Sample s;
    char small[64];
};

bool to_str(Work& w) noexcept {
    Sample& s = w.s;
    switch (s.type) {
    case SampleType::str: return true;
    case SampleType::boolean:
    case SampleType::integer: {
        std::int64_t v = s.type == SampleType::boolean ? (s.b ? 1 : 0) : s.i;
        auto [p, ec] = std::to_chars(w.small, w.small + sizeof w.small, v);
        if (ec != std::errc{}) return false;
        s.s = std::string_view(w.small, static_cast<std::size_t>(p - w.small));
        break;
    }
    case SampleType::ip: {
        const char* r = nullptr;
        if (s.ip.is_v4()) {
            in_addr a{htonl(s.ip.v4())};
            r = inet_ntop(AF_INET, &a, w.small, sizeof w.small);
        } else {
            r = inet_ntop(AF_INET6, s.ip.b.data(), w.small, sizeof w.small);
        }
        if (r == nullptr) return false;
        s.s = std::string_view(w.small);
        break;
    }
    case SampleType::none: return false;
    }
    s.type = SampleType::str;
    return true;
}

// HAProxy's c_str2int(): optional sign, then digits up to the first non-digit, saturating.
bool to_int(Work& w) noexcept {
    Sample& s = w.s;
    switch (s.type) {
    case SampleType::integer: return true;
    case SampleType::boolean: s.i = s.b ? 1 : 0; break;
    case SampleType::ip:
        if (!s.ip.is_v4()) return false;
        s.i = s.ip.v4();
        break;
    case SampleType::str: {
        if (s.s.empty()) return false;
        std::size_t k = 0;
        bool neg = false;
        if (s.s[0] == '-' || s.s[0] == '+') neg = s.s[k++] == '-';
        std::uint64_t v = 0;
        bool saturated = false;
        for (; k < s.s.size() && s.s[k] >= '0' && s.s[k] <= '9'; ++k) {
            auto d = static_cast<std::uint64_t>(s.s[k] - '0');
            if (v > (~std::uint64_t{0} - d) / 10) saturated = true;
            else v = v * 10 + d;
        }
        constexpr std::uint64_t kMaxPos = 0x7fffffffffffffffULL;
        if (neg) s.i = (saturated || v > kMaxPos + 1) ? INT64_MIN : static_cast<std::int64_t>(0 - v);
        else s.i = (saturated || v > kMaxPos) ? INT64_MAX : static_cast<std::int64_t>(v);
        break;
    }
    case SampleType::none: return false;
    }
    s.type = SampleType::integer;
    return true;
}

bool to_bool(Work& w) noexcept {
    if (w.s.type == SampleType::boolean) return true;
    if (w.s.type == SampleType::ip || !to_int(w)) return false;
    w.s.b = w.s.i != 0;
    w.s.type = SampleType::boolean;
    return true;
}

bool to_ip(Work& w) noexcept {
    Sample& s = w.s;
    switch (s.type) {
    case SampleType::ip: return true;
    case SampleType::integer: s.ip = geo::IpAddr::from_v4(static_cast<std::uint32_t>(s.i)); break;
    case SampleType::str: {
        char buf[64];
        if (s.s.empty() || s.s.size() >= sizeof buf) return false;
        std::memcpy(buf, s.s.data(), s.s.size());
        buf[s.s.size()] = '\0';
        in_addr a{};
        in6_addr a6{};
        if (inet_pton(AF_INET, buf, &a) == 1) s.ip = geo::IpAddr::from_v4(ntohl(a.s_addr));
        else if (inet_pton(AF_INET6, buf, &a6) == 1) s.ip = geo::IpAddr::from_v6(a6.s6_addr);
        else return false;
        break;
    }
    case SampleType::boolean:
    case SampleType::none: return false;
    }
    s.type = SampleType::ip;
    return true;
}

// The last map_ip()/geoip() lookup of one evaluation: several ACLs of a condition usually
// convert the same `src` with the same table. Lives on the evaluation's stack only, so a table
// freed with an old Snapshot can never be mistaken for a new one at the same address.
struct GeoCache {
    const geo::ValueTable* table = nullptr;
    geo::IpAddr addr{};
    std::uint32_t value = geo::PrefixTable::kNone;
};

bool convert(const conf::ConverterCall& c, Work& w, GeoCache& cache) noexcept {
    switch (c.id) {
    case conf::ConverterId::lower:
    case conf::ConverterId::upper: {
        if (!to_str(w)) return false;
        std::string_view v = w.s.s;
        if (v.size() > kMaxConvertedBytes) return false;
        if (v.data() != t_scratch) std::memmove(t_scratch, v.data(), v.size());
        bool up = c.id == conf::ConverterId::upper;
        for (std::size_t k = 0; k < v.size(); ++k) {
            char ch = t_scratch[k];
            if (up && ch >= 'a' && ch <= 'z') t_scratch[k] = static_cast<char>(ch - 'a' + 'A');
            else if (!up && ch >= 'A' && ch <= 'Z') t_scratch[k] = static_cast<char>(ch - 'A' + 'a');
        }
        w.s.s = std::string_view(t_scratch, v.size());
        return true;
    }
    case conf::ConverterId::map_ip:
    case conf::ConverterId::geoip: {
        // The table was loaded with the Snapshot; without one (a Proxy compiled outside the
        // loader) the sample does not exist.
        const geo::ValueTable* t = c.value_table;
        if (t == nullptr || !to_ip(w)) return false;
        std::uint32_t v;
        if (cache.table == t && cache.addr == w.s.ip) {
            v = cache.value;
        } else {
            v = t->table.lookup(w.s.ip);
            cache = GeoCache{t, w.s.ip, v};
        }
        w.s.type = SampleType::str;
        if (v < t->values.size()) {
            w.s.s = t->values[v];
        } else if (c.id == conf::ConverterId::map_ip && c.args.size() > 1) {
            w.s.s = c.args[1];   // map_ip(FILE,DEFAULT): no prefix matched
        } else {
            return false;        // no DEFAULT, or geoip() with no value: no sample
        }
        return true;
    }
    }
    return false;
}

bool int_matches(const std::vector<conf::IntPattern>& ints, std::int64_t v) noexcept {
    for (const auto& p : ints) {
        switch (p.op) {
        case conf::IntOp::eq: if (p.lo <= v && v <= p.hi) return true; break;
        case conf::IntOp::ne: if (v != p.lo) return true; break;
        case conf::IntOp::lt: if (v < p.lo) return true; break;
        case conf::IntOp::le: if (v <= p.lo) return true; break;
        case conf::IntOp::gt: if (v > p.lo) return true; break;
        case conf::IntOp::ge: if (v >= p.lo) return true; break;
        }
    }
    return false;
}

bool is_delim(char c, bool dom) noexcept {
    return c == '/' || c == '?' || (dom && (c == '.' || c == ':'));
}

// pattern.c match_word()
bool match_word(std::string_view s, std::string_view pat, bool icase, bool dom) noexcept {
    while (!pat.empty() && is_delim(pat.front(), dom)) pat.remove_prefix(1);
    while (!pat.empty() && is_delim(pat.back(), dom)) pat.remove_suffix(1);
    if (pat.empty() || pat.size() > s.size()) return false;
    bool may_match = true;
    std::size_t end = s.size() - pat.size();
    for (std::size_t c = 0; c <= end; ++c) {
        if (is_delim(s[c], dom)) {
            may_match = true;
            continue;
        }
        if (!may_match) continue;
        if (equal_n(s.data() + c, pat.data(), pat.size(), icase) && (c == end || is_delim(s[c + pat.size()], dom)))
            return true;
        may_match = false;
    }
    return false;
}

bool is_known_method(std::string_view m) noexcept {
    static constexpr std::string_view kKnown[] = {"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"};
    for (auto k : kKnown)
        if (k == m) return true;
    return false;
}

bool str_matches(const conf::AclExpr& e, std::string_view v) noexcept {
    const auto& pats = e.strings;
    const bool icase = e.ignore_case;
    switch (e.method) {
    case MatchMethod::str: {
        if (e.fetch.id == conf::FetchId::method && is_known_method(v))
            return std::find(pats.begin(), pats.end(), v) != pats.end();
        // Patterns are sorted at load (case-folded with -i): binary search.
        auto it = std::lower_bound(pats.begin(), pats.end(), v,
                                   [icase](const std::string& p, std::string_view key) { return compare(p, key, icase) < 0; });
        return it != pats.end() && compare(*it, v, icase) == 0;
    }
    case MatchMethod::beg:
        for (const auto& p : pats)
            if (p.size() <= v.size() && equal_n(v.data(), p.data(), p.size(), icase)) return true;
        return false;
    case MatchMethod::end:
        for (const auto& p : pats)
            if (p.size() <= v.size() && equal_n(v.data() + v.size() - p.size(), p.data(), p.size(), icase)) return true;
        return false;
    case MatchMethod::sub:
        for (const auto& p : pats) {
            if (p.size() > v.size()) continue;
            for (std::size_t c = 0; c + p.size() <= v.size(); ++c)
                if (equal_n(v.data() + c, p.data(), p.size(), icase)) return true;
        }
        return false;
    case MatchMethod::dom:
    case MatchMethod::dir:
        for (const auto& p : pats)
            if (match_word(v, p, icase, e.method == MatchMethod::dom)) return true;
        return false;
    default:
        return false;
    }
}

// Matches one (already converted) sample against the expression's patterns.
bool sample_matches(const conf::AclExpr& e, Work& w) noexcept {
    switch (e.method) {
    case MatchMethod::found: return true;
    case MatchMethod::boolean: return to_bool(w) && w.s.b;
    case MatchMethod::integer: return to_int(w) && int_matches(e.ints, w.s.i);
    case MatchMethod::len: return to_str(w) && int_matches(e.ints, static_cast<std::int64_t>(w.s.s.size()));
    case MatchMethod::ip: return to_ip(w) && e.ip_matcher.contains(w.s.ip);
    case MatchMethod::str:
    case MatchMethod::beg:
    case MatchMethod::end:
    case MatchMethod::sub:
    case MatchMethod::dom:
    case MatchMethod::dir: return to_str(w) && str_matches(e, w.s.s);
    }
    return false;
}

bool multi_valued(conf::FetchId id) noexcept { return id == conf::FetchId::hdr || id == conf::FetchId::req_hdr; }

bool expr_matches(const conf::AclExpr& e, FetchContext& ctx, GeoCache& cache) noexcept {
    const std::size_t limit = multi_valued(e.fetch.id) ? kMaxSamplesPerFetch : 1;
    for (std::size_t index = 0; index < limit; ++index) {
        Work w;
        if (e.fetch.id == conf::FetchId::always_true || e.fetch.id == conf::FetchId::always_false) {
            w.s.type = SampleType::boolean;
            w.s.b = e.fetch.id == conf::FetchId::always_true;
        } else if ((e.fetch.id == conf::FetchId::hdr && e.fetch.arg.empty()) || !ctx.fetch(e.fetch, index, w.s)) {
            return false;   // hdr without a name: smp_fetch_hdr() returns no sample (HAProxy 2.6, verified)
        }
        bool ok = true;
        for (const auto& c : e.converters)
            if (!convert(c, w, cache)) { ok = false; break; }
        if (ok && sample_matches(e, w)) return true;
    }
    return false;
}

bool acl_matches_cached(const conf::Acl& acl, FetchContext& ctx, GeoCache& cache) noexcept {
    for (const auto& e : acl.exprs)
        if (expr_matches(e, ctx, cache)) return true;
    return false;
}

}  // namespace

bool acl_matches(const conf::Acl& acl, FetchContext& ctx) noexcept {
    GeoCache cache;
    return acl_matches_cached(acl, ctx, cache);
}

bool fetch_string(const conf::FetchCall& f, const std::vector<conf::ConverterCall>& converters, FetchContext& ctx,
                  std::string_view& out) noexcept {
    // Work::small lives on this stack frame: a printed number or address is copied out.
    thread_local char t_text[64];
    Work w;
    if (f.id == conf::FetchId::always_true || f.id == conf::FetchId::always_false) {
        w.s.type = SampleType::boolean;
        w.s.b = f.id == conf::FetchId::always_true;
    } else if (!ctx.fetch(f, 0, w.s)) {
        return false;
    }
    GeoCache cache;
    for (const auto& c : converters)
        if (!convert(c, w, cache)) return false;
    const bool printed = w.s.type != SampleType::str;
    if (!to_str(w)) return false;
    if (printed) {
        std::size_t n = std::min(w.s.s.size(), sizeof t_text);
        std::memcpy(t_text, w.s.s.data(), n);
        w.s.s = std::string_view(t_text, n);
    }
    out = w.s.s;
    return true;
}

bool evaluate(const conf::Condition& c, const conf::Proxy& px, FetchContext& ctx) noexcept {
    if (!c.present) return true;
    GeoCache cache;
    bool result = false;
    for (const auto& group : c.any_of) {
        bool all = true;
        for (const auto& t : group) {
            bool m = t.acl < px.acls.size() && acl_matches_cached(px.acls[t.acl], ctx, cache);
            if (m == t.negate) { all = false; break; }
        }
        if (all) { result = true; break; }
    }
    return c.unless ? !result : result;
}

}  // namespace skjold::proxy
