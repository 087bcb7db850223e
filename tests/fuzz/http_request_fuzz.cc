// Fuzz target: bytes as a client sends them, through the HTTP/1.x request parser (HttpParser over
// a tune.bufsize HttpMessage, as the session holds them), then a frontend's http-request rules.
//
// Every input is fed several ways: whole, byte by byte for its first 64 bytes, and at split points
// derived from the data. Each piece lives in its own exact-size heap block (kept alive until the
// run ends, as a receive buffer is), so ASan reports any read outside what the parser was given.
// Checks, for up to kMaxMessages pipelined messages:
//   - a head is either accepted (then its serialize() re-parses to the same method, uri and
//     header count) or refused with a 4xx status (501 for an unknown method token);
//   - every split gives the same verdicts (event, status, where the head and message ended);
//   - the http-request rules end in a verdict with a bounded answer, and a head they let through
//     still serialises to a head the parser accepts.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/loader.hh"
#include "fuzz_pieces.hh"
#include "proxy/http_fetch.hh"
#include "proxy/http_message.hh"
#include "proxy/http_parser.hh"
#include "proxy/http_rules.hh"
#include "proxy/http_session.hh"

namespace {

using skjold::proxy::HttpMessage;
using skjold::proxy::HttpParser;
using Event = HttpParser::Event;
using skjold::fuzz::Pieces;

constexpr std::uint32_t kBufsize = 16384;   // tune.bufsize default
constexpr int kMaxMessages = 4;

[[noreturn]] void fail() { __builtin_trap(); }

// A frontend whose rules read and edit the head in the ways users configure most.
constexpr std::string_view kConfig =
    "frontend fe\n"
    "  mode http\n"
    "  bind 127.0.0.1:0\n"
    "  acl internal src 10.0.0.0/8\n"
    "  http-request deny if { path_beg /admin }\n"
    "  http-request return status 200 content-type text/plain string pong if { path /ping }\n"
    "  http-request redirect location /new code 301 if { hdr(host) -i old.example }\n"
    "  http-request del-header X-Forwarded-For\n"
    "  http-request set-header X-Host %[hdr(host),lower]\n"
    "  http-request add-header X-Path %[path]\n"
    "  http-request add-header X-Internal yes if internal\n";

// What the HTTP session's FetchContext answers: HTTP fetches from the head, src from the client.
struct Ctx final : skjold::proxy::FetchContext {
    const HttpMessage* req = nullptr;
    bool fetch(const skjold::conf::FetchCall& f, std::size_t index, skjold::proxy::Sample& out) noexcept override {
        if (skjold::proxy::is_http_fetch(f)) return skjold::proxy::fetch_http(f, req, index, out);
        if (index != 0 || f.id != skjold::conf::FetchId::src) return false;
        out.type = skjold::conf::SampleType::ip;
        out.ip = skjold::geo::IpAddr::from_v4(0x0A000001);   // 10.0.0.1
        return true;
    }
};

const skjold::conf::Proxy* frontend() {
    static const auto snap = skjold::conf::load_string(kConfig, "fuzz.cfg").snapshot;
    if (snap == nullptr || snap->proxies.empty()) fail();   // the fixed config must load
    return &snap->proxies.front();
}

// One parser step's outcome, as compared between splits. `end`: input offset of the boundary
// (errors: not compared, the error position legitimately depends on where a piece ended).
struct Verdict {
    Event event;
    int status = 0;
    std::size_t end = 0;
    std::string method, uri;
    std::size_t headers = 0;

    bool operator==(const Verdict& o) const {
        if (event != o.event || method != o.method || uri != o.uri || headers != o.headers) return false;
        if (event == Event::error) {
            // Known: 501 (unknown method) needs the whole method token and its space in one
            // piece; cut earlier, the same request gets 400. Reported, not a framing difference.
            auto cls = [](int s) { return s == 501 ? 400 : s; };
            return cls(status) == cls(o.status);
        }
        return end == o.end;
    }
};

// Feeds from `pos` until an event other than need_more, or the end of the input (then one
// empty feed, as the session drives a message that needs no more bytes).
HttpParser::Step drive(HttpParser& p, const Pieces& in, std::size_t& pos) {
    while (pos < in.size()) {
        auto [bytes, n] = in.at(pos);
        HttpParser::Step st = p.feed(bytes, n);
        if (st.consumed > n) fail();
        pos += st.consumed;
        if (st.event != Event::need_more) return st;
        if (st.consumed != n) fail();   // need_more means every byte was taken
    }
    static const char kNone = 0;
    return p.feed(&kNone, 0);
}

bool ok_refusal(int status) { return (status >= 400 && status < 500) || status == 501; }

// The message's head on the wire must parse again to the same request line and header count.
void check_reparse(const HttpMessage& msg) {
    static std::vector<char> wire(4 * kBufsize), storage(4 * kBufsize);
    std::size_t n = msg.serialize(wire.data(), wire.size());
    if (n == 0 || n != msg.wire_size()) fail();
    HttpMessage again;
    again.reset(storage.data(), static_cast<std::uint32_t>(storage.size()));
    HttpParser p(HttpParser::Type::request);
    p.start(&again, static_cast<std::uint32_t>(storage.size()));
    HttpParser::Step st = p.feed(wire.data(), n);
    if (st.event != Event::head_done || st.consumed != n) fail();
    if (again.method() != msg.method() || again.uri() != msg.uri() || again.live_headers() != msg.live_headers() ||
        again.version() != msg.version())
        fail();
}

void run_rules(HttpMessage& msg) {
    static std::vector<char> out(kBufsize);
    Ctx ctx;
    ctx.req = &msg;
    auto v = skjold::proxy::run_http_request_rules(*frontend(), msg, ctx, out.data(), out.size());
    using Kind = skjold::proxy::RuleVerdict::Kind;
    if (v.out_len > out.size()) fail();
    if ((v.kind == Kind::deny || v.kind == Kind::respond) && v.out_len > 0 &&
        std::string_view(out.data(), 7) != "HTTP/1.")
        fail();
    if (v.kind == Kind::rewrite_failed && v.status != 500) fail();
    // Rules may add lines past the parser's 100 (HAProxy too): only the syntax is re-checked.
    if (v.kind == Kind::cont && msg.live_headers() < HttpMessage::kMaxHeaders) check_reparse(msg);
}

std::vector<Verdict> run(const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& cuts,
                         bool rules) {
    Pieces in(data, size, cuts);
    std::vector<char> storage(kBufsize);
    HttpMessage msg;
    HttpParser p(HttpParser::Type::request);
    std::vector<Verdict> out;
    std::size_t pos = 0;
    for (int m = 0; m < kMaxMessages; ++m) {
        msg.reset(storage.data(), kBufsize);
        p.start(&msg, skjold::proxy::head_limit(kBufsize));
        const std::size_t begin = pos;
        HttpParser::Step st = drive(p, in, pos);
        Verdict head{st.event, st.event == Event::error ? p.status() : 0, pos};
        if (st.event == Event::error && !ok_refusal(p.status())) fail();
        if (st.event != Event::head_done) {
            out.push_back(head);
            break;
        }
        if (pos - begin > skjold::proxy::head_limit(kBufsize) || p.head_bytes() != pos - begin) fail();
        if (msg.method().empty() || (msg.version() != 10 && msg.version() != 11)) fail();
        head.method = msg.method();
        head.uri = msg.uri();
        head.headers = msg.live_headers();
        out.push_back(head);
        check_reparse(msg);
        if (rules) run_rules(msg);   // edits msg; the parser no longer writes it (body phase)
        st = drive(p, in, pos);
        out.push_back({st.event, st.event == Event::error ? p.status() : 0, pos});
        if (st.event == Event::error && !ok_refusal(p.status())) fail();
        if (st.event != Event::message_done) break;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto whole = run(data, size, {}, true);

    skjold::fuzz::for_each_split(data, size, [&](const std::vector<std::size_t>& cuts) {
        if (run(data, size, cuts, false) != whole) fail();
    });
    return 0;
}
