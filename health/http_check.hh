#pragma once
// `option httpchk` compiled once per backend: the request bytes to send, and the judge that
// reads the server's answer and says pass/fail in HAProxy's terms. No I/O, no clock, no
// allocation after construction: the Checker feeds it the bytes received so far.
//
// HAProxy semantics (src/tcpcheck.c tcpcheck_eval_expect_http(), verified against haproxy
// 2.6.12 on 127.0.0.1):
//   - no `http-check expect`: status 200-399 passes (the implicit "expect status 200-399");
//   - a wrong status is L7STS with the reason phrase as info ("Service Unavailable");
//   - `expect string S`: the body must contain S; no body is L7RSP "HTTP content check could
//     not find a response body", no match is L7RSP "HTTP content check did not match";
//   - an answer that is not HTTP, or a close before a full header block, is L7RSP, no info.

#include <memory>
#include <regex.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/snapshot_types.hh"
#include "core/result.hh"
#include "health/check_status.hh"

namespace skjold::health {

struct HttpVerdict {
    bool done = false;              // false: need more bytes (and the connection is still open)
    CheckStatus status = CheckStatus::unknown;
    int code = 0;                   // the HTTP status, once the status line was read
    std::string_view desc;          // points into the response given to judge() or static text
};

class HttpCheck {
public:
    // Fails only on a pattern conf/ should already have refused (bad regex or status list).
    static core::Result<std::unique_ptr<HttpCheck>> compile(const conf::HttpCheck& c);

    // `METHOD URI VERSION\r\n`, the `http-check send hdr` headers, `Connection: close` unless
    // a Connection header was given, and the empty line. A legacy version argument carrying
    // its own header lines ("HTTP/1.1\r\nHost: x") is sent as written, as HAProxy does.
    std::string_view request() const noexcept { return request_; }

    // Judges what was received so far. `last_read`: no more bytes will come (peer closed, or
    // the receive buffer is full), so an undecided answer must be decided now.
    HttpVerdict judge(std::string_view response, bool last_read) const noexcept;

private:
    HttpCheck() = default;
    struct RegexFree {
        void operator()(regex_t* r) const noexcept;
    };

    std::string request_;
    conf::HttpCheck::Expect expect_ = conf::HttpCheck::Expect::none;
    std::vector<std::pair<int, int>> codes_;      // status ranges, inclusive
    std::unique_ptr<regex_t, RegexFree> regex_;   // rstatus
    std::string needle_;                           // string
};

}  // namespace skjold::health
