#pragma once
// Test helper (http-rules tests): an HttpMessage filled from a raw head as a client or server
// writes it ("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), through HttpMessage's builder API, so the
// fetch and rule tests do not depend on the llhttp parser's state of work.

#include <doctest/doctest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "conf/loader.hh"
#include "geo/address.hh"
#include "proxy/acl_eval.hh"
#include "proxy/http_fetch.hh"
#include "proxy/http_message.hh"

namespace skjold::test {

class Head {
public:
    explicit Head(std::string_view raw, std::size_t capacity = 8192) : storage_(new char[capacity]) {
        msg.reset(storage_.get(), static_cast<std::uint32_t>(capacity));
        std::size_t eol = raw.find("\r\n");
        std::string_view first = raw.substr(0, eol);
        std::size_t sp1 = first.find(' '), sp2 = first.find(' ', sp1 + 1);
        if (first.starts_with("HTTP/")) {
            int status = (first[sp1 + 1] - '0') * 100 + (first[sp1 + 2] - '0') * 10 + (first[sp1 + 3] - '0');
            ok = msg.set_status_line(first[7] == '0' ? 10 : 11, status, first.substr(sp1 + 5));
        } else {
            std::string_view version = first.substr(sp2 + 1);
            ok = msg.set_request_line(first.substr(0, sp1), first.substr(sp1 + 1, sp2 - sp1 - 1),
                                      version == "HTTP/1.0" ? 10 : 11);
        }
        std::size_t pos = eol + 2;
        while (ok && pos < raw.size()) {
            std::size_t end = raw.find("\r\n", pos);
            if (end == std::string_view::npos || end == pos) break;
            std::string_view line = raw.substr(pos, end - pos);
            std::size_t colon = line.find(':');
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
            ok = msg.add_header(line.substr(0, colon), value);
            pos = end + 2;
        }
    }
    Head(const Head&) = delete;
    Head& operator=(const Head&) = delete;

    std::string wire() const {
        std::string out(msg.wire_size(), '\0');
        out.resize(msg.serialize(out.data(), out.size()));
        return out;
    }

    proxy::HttpMessage msg;
    bool ok = false;

private:
    std::unique_ptr<char[]> storage_;
};

// What an HTTP session's FetchContext does: HTTP fetches from the request, src/src_port from
// the connection. `calls` counts fetches (a test can see that a rule did not evaluate).
struct HttpCtx final : proxy::FetchContext {
    const proxy::HttpMessage* req = nullptr;
    geo::IpAddr src = geo::IpAddr::from_v4(0xC0000201);   // 192.0.2.1
    std::int64_t src_port = 40000;
    std::size_t calls = 0;

    bool fetch(const conf::FetchCall& f, std::size_t index, proxy::Sample& out) noexcept override {
        ++calls;
        if (proxy::is_http_fetch(f)) return proxy::fetch_http(f, req, index, out);
        if (index != 0) return false;
        if (f.id == conf::FetchId::src) {
            out.type = conf::SampleType::ip;
            out.ip = src;
            return true;
        }
        if (f.id == conf::FetchId::src_port) {
            out.type = conf::SampleType::integer;
            out.i = src_port;
            return true;
        }
        return false;
    }
};

// A configuration loaded as the binary loads it; the test fails with the messages if it does not load.
inline std::shared_ptr<const conf::Snapshot> load(std::string_view text) {
    auto r = conf::load_string(text, "t.cfg");
    for (const auto& e : r.errors) FAIL_CHECK(e.str());
    REQUIRE(r.snapshot != nullptr);
    return r.snapshot;
}

// The first message of a configuration that must not load.
inline std::string load_error(std::string_view text) {
    auto r = conf::load_string(text, "t.cfg");
    REQUIRE_FALSE(r.errors.empty());
    return r.errors.front().str();
}

}  // namespace skjold::test
