#pragma once
// http-request / http-response rules, option forwardfor and monitor-uri on the worker's data
// path. Owner: http-rules. The HTTP session calls these once per request/response head: noexcept,
// no allocation (log-format values are rendered into a thread-local buffer), no locks. A rewrite
// that does not fit in the message's storage is reported, never truncated.

#include <cstddef>
#include <cstdint>

#include "conf/snapshot_types.hh"
#include "geo/address.hh"
#include "proxy/acl_eval.hh"
#include "proxy/http_message.hh"

namespace skjold::proxy {

// Longest rendered log-format value (header value, redirect target); longer: rewrite failure.
inline constexpr std::size_t kMaxRenderedValue = 16384;

// What the http-request rules decided.
struct RuleVerdict {
    // service: `http-request use-service prometheus-exporter` matched; nothing is written to
    // `out`, the session answers with the exporter's page (proxy/prometheus_exporter.hh).
    enum class Kind : std::uint8_t { cont, deny, respond, rewrite_failed, service } kind = Kind::cont;
    int status = 0;          // deny status / return status / redirect code (for the log); 500 when
                             // rewrite_failed (HAProxy answers a failed request rewrite with 500)
    std::size_t out_len = 0; // deny/respond: a complete HTTP response (head + body) written to `out`;
                             // 0 with deny: the errorfile is empty (close without answering)
    bool close = false;      // deny/respond: close the client connection once `out` is sent
                             // (HTTP/1.0 without keep-alive, `Connection: close`, 400/408 pages,
                             // option httpclose); see connection_reply() in http_errors.hh
};

// Runs `px.http_request` in order against `req` (set/add/del-header edit it); stops at the first
// deny/return/redirect, writing the full response into out[0..cap). ctx evaluates conditions and
// answers the samples of log-format values (%[src], %[hdr(host)] ...). A response larger than
// `cap`, a value over kMaxRenderedValue or a full `req` storage gives rewrite_failed (the
// session answers 500, as HAProxy does).
// Responses, as haproxy 2.6 sends them: deny -> error_response(px, status); return ->
// "HTTP/1.1 N <reason>", content-length, content-type; redirect -> "HTTP/1.1 N <reason>",
// "content-length: 0", "location: X", and "cache-control: no-cache" for 302, 303 and 307.
// Bodies are left out for HEAD requests.
RuleVerdict run_http_request_rules(const conf::Proxy& px, HttpMessage& req, FetchContext& ctx, char* out,
                                   std::size_t cap) noexcept;

// http-response rules of `px` against `res` (set/add/del-header). hdr() and hdr_cnt() in their
// conditions and values read `res` (HAProxy: hdr is res.hdr in the response direction); other
// fetches go to ctx. false: a rewrite failed (-> 502).
bool run_http_response_rules(const conf::Proxy& px, HttpMessage& res, FetchContext& ctx) noexcept;

// option forwardfor of frontend `fe` and backend `be` (either enables it; the backend's header
// name when it has the option, else the frontend's; a client inside either's `except` network is
// skipped), appending one `X-Forwarded-For: <src>` line after any existing ones (HAProxy adds a
// line, it does not merge). IPv4 dotted, IPv6 as inet_ntop writes it. false on rewrite failure.
bool apply_forwardfor(const conf::Proxy& fe, const conf::Proxy& be, HttpMessage& req, const geo::IpAddr& src) noexcept;

// monitor-uri of the frontend matches this request. HAProxy 2.6 compares the request target as
// received, or, when the monitor-uri starts with '/', the target's path with its query (so
// "/health" matches "http://h/health" but not "/health?x"). The answer is the 200 page:
//   write_reply(error_response(fe, 200), &req, fe, out, cap)      (http_errors.hh)
bool monitor_uri_matches(const conf::Proxy& fe, const HttpMessage& req) noexcept;

}  // namespace skjold::proxy
