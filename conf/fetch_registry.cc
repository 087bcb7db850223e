// ACL keywords as HAProxy 2.6 defines them: a keyword with a suffix (hdr_sub, path_beg) is the
// base fetch with that match method (HAProxy's acl_kws tables); plain sample fetches (src,
// nbsrv, ...) match by their output type. Optional arguments follow HAProxy's signatures:
// hdr([NAME[,OCC]]), hdr_cnt([NAME]), nbsrv([BACKEND]), be_conn([BACKEND]), fe_conn([FRONTEND]),
// srv_is_up([BACKEND/]SERVER); an omitted proxy means the proxy holding the ACL.
#include "conf/fetch_registry.hh"

#include <array>

namespace skjold::conf {

namespace {

using A = ArgKind;
using M = MatchMethod;
using T = SampleType;

// One row per keyword. {keyword, id, type, method, min, max, {args}, multi, http}
constexpr FetchDef kHdr(std::string_view kw, MatchMethod m) {
    return FetchDef{kw, FetchId::hdr, T::str, m, 0, 2, {A::str, A::integer}, true, true};
}
constexpr FetchDef kPath(std::string_view kw, MatchMethod m) {
    return FetchDef{kw, FetchId::path, T::str, m, 0, 0, {}, false, true};
}
constexpr FetchDef kUrl(std::string_view kw, MatchMethod m) {
    return FetchDef{kw, FetchId::url, T::str, m, 0, 0, {}, false, true};
}

constexpr std::array kFetches{
    FetchDef{"src", FetchId::src, T::ip, M::ip},
    FetchDef{"src_port", FetchId::src_port, T::integer, M::integer},
    FetchDef{"dst", FetchId::dst, T::ip, M::ip},
    FetchDef{"dst_port", FetchId::dst_port, T::integer, M::integer},
    FetchDef{"ssl_fc", FetchId::ssl_fc, T::boolean, M::boolean},
    FetchDef{"ssl_fc_sni", FetchId::ssl_fc_sni, T::str, M::str},
    FetchDef{"ssl_fc_protocol", FetchId::ssl_fc_protocol, T::str, M::str},
    FetchDef{"ssl_fc_alpn", FetchId::ssl_fc_alpn, T::str, M::str},
    kHdr("hdr", M::str), kHdr("req.hdr", M::str), kHdr("hdr_beg", M::beg), kHdr("hdr_end", M::end),
    kHdr("hdr_sub", M::sub), kHdr("hdr_dom", M::dom), kHdr("hdr_dir", M::dir), kHdr("hdr_len", M::len),
    FetchDef{"hdr_cnt", FetchId::hdr_cnt, T::integer, M::integer, 0, 1, {A::str}, false, true},
    FetchDef{"req.hdr_cnt", FetchId::hdr_cnt, T::integer, M::integer, 0, 1, {A::str}, false, true},
    kPath("path", M::str), kPath("path_beg", M::beg), kPath("path_end", M::end), kPath("path_sub", M::sub),
    kPath("path_dom", M::dom), kPath("path_dir", M::dir), kPath("path_len", M::len),
    kUrl("url", M::str), kUrl("url_beg", M::beg), kUrl("url_end", M::end), kUrl("url_sub", M::sub),
    kUrl("url_dom", M::dom), kUrl("url_dir", M::dir), kUrl("url_len", M::len),
    // HAProxy's `method` keyword has its own matcher (pat_match_meth): see proxy/acl_eval.cc.
    FetchDef{"method", FetchId::method, T::str, M::str, 0, 0, {}, false, true},
    FetchDef{"nbsrv", FetchId::nbsrv, T::integer, M::integer, 0, 1, {A::backend}},
    FetchDef{"srv_is_up", FetchId::srv_is_up, T::boolean, M::boolean, 1, 1, {A::server}},
    FetchDef{"fe_conn", FetchId::fe_conn, T::integer, M::integer, 0, 1, {A::frontend}},
    FetchDef{"be_conn", FetchId::be_conn, T::integer, M::integer, 0, 1, {A::backend}},
    FetchDef{"always_true", FetchId::always_true, T::boolean, M::boolean},
    FetchDef{"always_false", FetchId::always_false, T::boolean, M::boolean},
};

constexpr std::array kConverters{
    ConverterDef{"lower", ConverterId::lower, T::str, T::str, 0, 0, false},
    ConverterDef{"upper", ConverterId::upper, T::str, T::str, 0, 0, false},
    ConverterDef{"map_ip", ConverterId::map_ip, T::ip, T::str, 1, 2, true},
    ConverterDef{"geoip", ConverterId::geoip, T::ip, T::str, 1, 2, true},
};

struct Predefined {
    std::string_view name;
    std::array<std::string_view, 3> words;
    std::size_t n;
};

// acl.c default_acl_list, restricted to the fetches above. HTTP, HTTP_1.0/1.1/2.0/3.0,
// HTTP_URL_ABS, HTTP_CONTENT, RDP_COOKIE, REQ_CONTENT and WAIT_END need fetches skjold does
// not have (yet); naming them gives "no such ACL".
constexpr std::array kPredefined{
    Predefined{"TRUE", {"always_true"}, 1},
    Predefined{"FALSE", {"always_false"}, 1},
    Predefined{"LOCALHOST", {"src", "127.0.0.1/8", "::1"}, 3},
    Predefined{"METH_CONNECT", {"method", "CONNECT"}, 2},
    Predefined{"METH_DELETE", {"method", "DELETE"}, 2},
    Predefined{"METH_GET", {"method", "GET", "HEAD"}, 3},
    Predefined{"METH_HEAD", {"method", "HEAD"}, 2},
    Predefined{"METH_OPTIONS", {"method", "OPTIONS"}, 2},
    Predefined{"METH_POST", {"method", "POST"}, 2},
    Predefined{"METH_PUT", {"method", "PUT"}, 2},
    Predefined{"METH_TRACE", {"method", "TRACE"}, 2},
    Predefined{"HTTP_URL_SLASH", {"url_beg", "/"}, 2},
    Predefined{"HTTP_URL_STAR", {"url", "*"}, 2},
};

}  // namespace

const FetchDef* find_fetch(std::string_view keyword) noexcept {
    for (const auto& f : kFetches)
        if (f.keyword == keyword) return &f;
    return nullptr;
}

const ConverterDef* find_converter(std::string_view keyword) noexcept {
    for (const auto& c : kConverters)
        if (c.keyword == keyword) return &c;
    return nullptr;
}

std::span<const FetchDef> fetch_table() noexcept { return kFetches; }
std::span<const ConverterDef> converter_table() noexcept { return kConverters; }

MatchMethod default_method(SampleType t) noexcept {
    switch (t) {
    case SampleType::boolean: return MatchMethod::boolean;
    case SampleType::integer: return MatchMethod::integer;
    case SampleType::ip: return MatchMethod::ip;
    case SampleType::str: return MatchMethod::str;
    case SampleType::none: break;
    }
    return MatchMethod::found;
}

std::span<const std::string_view> predefined_acl(std::string_view name) noexcept {
    for (const auto& p : kPredefined)
        if (p.name == name) return {p.words.data(), p.n};
    return {};
}

}  // namespace skjold::conf
