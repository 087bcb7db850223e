// Fuzz target: bytes as a server sends them, through the response side of the HTTP engine as
// http_response.cc runs it (HttpParser over a tune.bufsize HttpMessage, interim responses,
// strip_hop_by_hop, the http-response rules, the Connection header skjold adds, serialize, then
// the body bytes the parser framed, forwarded raw), then what would reach the client is parsed
// again by a second, independent response parser.
//
// The first input byte is the request context (bit 0: HEAD, bit 1: HTTP/1.0 client, bit 2: the
// client asked for an Upgrade, bit 3: the client connection closes after this response); the
// rest is the server's byte stream, and its end is the server's FIN.
// Checks:
//   - the client gets either a 502 (nothing of the final response sent yet), or a stream that
//     parses again as the interim heads, then the final head with the same status and header
//     count, then a body that ends exactly where the output ends (a complete transaction), or
//     that is visibly cut (an aborted one: the client's parser still wants bytes);
//   - a body delimited only by the close always goes out with `Connection: close`;
//   - the server's bytes split at any points (each piece in its own exact-size heap block, as
//     receive buffers are) give the same client stream and the same outcome.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "conf/loader.hh"
#include "fuzz_pieces.hh"
#include "proxy/http_fetch.hh"
#include "proxy/http_hop.hh"
#include "proxy/http_message.hh"
#include "proxy/http_parser.hh"
#include "proxy/http_rules.hh"
#include "proxy/http_session.hh"

namespace {

using skjold::proxy::HttpMessage;
using skjold::proxy::HttpParser;
using Event = HttpParser::Event;
using skjold::fuzz::Pieces;

constexpr std::uint32_t kBufsize = 16384;   // tune.bufsize default: one pool block
constexpr int kMaxInterim = 8;

// The failed check's line goes to stderr first: a trap's stack has the inlined checks' lines wrong.
[[noreturn]] void fail_at(int line) {
    std::fprintf(stderr, "http_response_fuzz.cc:%d: check failed\n", line);
    __builtin_trap();
}
#define fail() fail_at(__LINE__)

// A frontend whose http-response rules edit the head as users configure them.
constexpr std::string_view kConfig =
    "frontend fe\n"
    "  mode http\n"
    "  bind 127.0.0.1:0\n"
    "  http-response del-header Server\n"
    "  http-response set-header X-Type %[hdr(content-type),lower] if { hdr(content-type) -m found }\n"
    "  http-response add-header X-Count %[hdr_cnt(set-cookie)]\n"
    "  http-response add-header X-Via skjold\n";

struct Ctx final : skjold::proxy::FetchContext {
    const HttpMessage* req = nullptr;
    bool fetch(const skjold::conf::FetchCall& f, std::size_t index, skjold::proxy::Sample& out) noexcept override {
        if (skjold::proxy::is_http_fetch(f)) return skjold::proxy::fetch_http(f, req, index, out);
        return false;
    }
};

const skjold::conf::Proxy* frontend() {
    static const auto snap = skjold::conf::load_string(kConfig, "fuzz.cfg").snapshot;
    if (snap == nullptr || snap->proxies.empty()) fail();   // the fixed config must load
    return &snap->proxies.front();
}

// As HttpEngine::parse_queue: buffer by buffer up to the next event; with nothing left, one
// empty feed (a message that ends without more bytes).
// `last_feed`: where the last feed() began.
HttpParser::Step drive(HttpParser& p, const Pieces& in, std::size_t& pos, std::size_t* last_feed = nullptr) {
    bool fed = false;
    while (pos < in.size()) {
        if (last_feed != nullptr) *last_feed = pos;
        auto [bytes, n] = in.at(pos);
        HttpParser::Step st = p.feed(bytes, n);
        fed = true;
        if (st.consumed > n) fail();
        pos += st.consumed;
        if (st.event != Event::need_more) return st;
        if (st.consumed != n) fail();
    }
    if (fed) return {Event::need_more, 0};
    static const char kNone = 0;
    return p.feed(&kNone, 0);
}

struct Request {
    bool head = false, http10 = false, upgrade = false, close = false;
};

enum class Outcome : std::uint8_t { bad_gateway, complete, aborted, tunnel };

struct Result {
    Outcome outcome = Outcome::bad_gateway;
    std::string out;          // the bytes the client gets (before a 502 page, interim heads only;
                              // aborted: depends on where the server's bytes were cut)
    int status = 0;           // final status
    std::size_t headers = 0;  // final head's live header count
    bool client_close = false;
    bool operator==(const Result& o) const {
        return outcome == o.outcome && (outcome == Outcome::aborted || out == o.out) && status == o.status &&
               headers == o.headers && client_close == o.client_close;
    }
};

// As the engine: the head is serialised into one pool block; a head that does not fit is a
// failed rewrite (502).
bool append_head(const HttpMessage& m, std::string& out) {
    static std::vector<char> wire(kBufsize);
    std::size_t n = m.serialize(wire.data(), wire.size());
    if (n == 0) return false;
    out.append(wire.data(), n);
    return true;
}

// The response side of one transaction, as http_response.cc runs it.
Result proxy(const Request& rq, const Pieces& in) {
    static std::vector<char> storage(kBufsize);
    Result r;
    r.client_close = rq.close;
    HttpMessage res;
    HttpParser p(HttpParser::Type::response);
    std::size_t pos = 0;
    for (int interim = 0;; ++interim) {
        res.reset(storage.data(), kBufsize);
        p.start(&res, skjold::proxy::head_limit(kBufsize), rq.head);
        HttpParser::Step st = drive(p, in, pos);
        if (st.event != Event::head_done) {
            if (st.event == Event::error && p.status() != 502) fail();
            return r;   // malformed, or the server closed inside the head: 502
        }
        if (interim >= kMaxInterim) return r;   // not bounded in skjold; bounded here (see report)
        const int status = res.status();
        if (status < 100 || status > 999) fail();
        if (status < 200 && status != 101) {
            if (!rq.http10) {
                skjold::proxy::strip_hop_by_hop(res, false);
                if (!append_head(res, r.out)) return r;
            }
            p.feed(storage.data(), 0);   // ends the interim message
            continue;
        }
        if (status == 101) {
            if (!rq.upgrade) return r;
            skjold::proxy::strip_hop_by_hop(res, true);
            if (!res.add_header("Connection", "upgrade") || !append_head(res, r.out)) return r;
            r.outcome = Outcome::tunnel;
            r.status = 101;
            r.headers = res.live_headers();
            return r;   // what follows is another protocol, relayed as it comes
        }
        skjold::proxy::strip_hop_by_hop(res, false);
        const bool until_close = p.body() == HttpParser::Body::until_close;
        Ctx ctx;
        if (!skjold::proxy::run_http_response_rules(*frontend(), res, ctx)) return r;
        if (until_close) r.client_close = true;
        bool ok = true;
        if (r.client_close) ok = res.add_header("Connection", "close");
        else if (rq.http10) ok = res.add_header("Connection", "keep-alive");
        if (!ok || !append_head(res, r.out)) return r;
        r.status = status;
        r.headers = res.live_headers();
        break;
    }
    // The body: what the parser framed goes out as it came. A buffer in which the parser finds
    // an error is not sent at all: the session aborts at once (and llhttp's error position is
    // one past the offending byte, so "consumed" includes it).
    for (;;) {
        const std::size_t from = pos;
        std::size_t last_feed = pos;
        HttpParser::Step st = drive(p, in, pos, &last_feed);
        if (st.event == Event::error) pos = last_feed;
        for (std::size_t at = from; at < pos;) {
            auto [bytes, n] = in.at(at);
            std::size_t k = n < pos - at ? n : pos - at;
            r.out.append(bytes, k);
            at += k;
        }
        switch (st.event) {
        case Event::head_done: continue;   // not after the head; keep driving
        case Event::message_done:
        case Event::upgrade: r.outcome = Outcome::complete; return r;
        case Event::error: r.outcome = Outcome::aborted; return r;
        case Event::need_more:
            if (pos < in.size()) fail();   // need_more took every byte
            r.outcome = p.finish().event == Event::message_done ? Outcome::complete : Outcome::aborted;
            return r;
        }
    }
}

// The client's view: the stream must frame the same way in a parser that saw nothing else.
void check_client_view(const Request& rq, const Result& r) {
    if (r.outcome == Outcome::bad_gateway) return;   // the 502 page is tested by http_errors_test
    // Rules may add lines past the parser's 100 (HAProxy too, and clients take them): the parser
    // used as the client here would refuse such a head for its count alone.
    if (r.headers >= HttpMessage::kMaxHeaders) return;
    static std::vector<char> storage(kBufsize);
    HttpMessage m;
    HttpParser p(HttpParser::Type::response);
    const char* data = r.out.data();
    std::size_t left = r.out.size();
    for (;;) {
        m.reset(storage.data(), kBufsize);
        p.start(&m, kBufsize, rq.head);
        HttpParser::Step st = p.feed(data, left);
        if (st.event != Event::head_done) fail();
        data += st.consumed;
        left -= st.consumed;
        if (m.status() >= 200 || m.status() == 101) break;
        if (rq.http10) fail();   // an HTTP/1.0 client never sees 1xx
    }
    if (m.status() != r.status || m.live_headers() != r.headers) fail();
    if (r.outcome == Outcome::tunnel) {
        if (left != 0 || !m.find("connection")) fail();
        return;
    }
    const bool says_close = m.find("connection") == std::optional<std::string_view>("close");
    if (r.client_close != says_close) fail();
    if (p.body() == HttpParser::Body::until_close && !says_close) fail();
    // A body that the client could only end by the close is fine only with that close.
    HttpParser::Step st = left > 0 ? p.feed(data, left) : p.feed(data, 0);
    if (r.outcome == Outcome::complete) {
        if (st.event == Event::message_done || st.event == Event::upgrade) {
            if (st.consumed != left) fail();   // the client would read past the message
        } else if (st.event == Event::need_more) {
            if (p.finish().event != Event::message_done || !says_close) fail();
        } else {
            fail();
        }
    } else {
        // Aborted mid-body: the client must see an incomplete message, not a finished one.
        if (st.event == Event::error) fail();
        if (st.event == Event::message_done && p.body() != HttpParser::Body::until_close) fail();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    Request rq{(data[0] & 1) != 0, (data[0] & 2) != 0, (data[0] & 4) != 0, (data[0] & 8) != 0};
    ++data;
    --size;
    const Result whole = proxy(rq, Pieces(data, size, {}));
    check_client_view(rq, whole);

    skjold::fuzz::for_each_split(data, size, [&](const std::vector<std::size_t>& cuts) {
        const Result r = proxy(rq, Pieces(data, size, cuts));
        check_client_view(rq, r);
        if (!(r == whole)) fail();
    });
    return 0;
}
