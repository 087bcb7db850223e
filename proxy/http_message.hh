#pragma once
// One HTTP request or response head, parsed. Owner: the session. Its bytes live in storage the
// session lends (one tune.bufsize block from the worker's pool); nothing is allocated per message.
//
// Layout of the storage block: text (start-line tokens, header names and values) grows up from
// the start; header slots (offsets into the text, 12 bytes each) grow down from the end. The block
// is full when they meet. Editing never moves bytes: a deleted header is a flagged slot, a
// rewritten start line or added header is new text at the top. The parser (HttpParser) builds the
// message piece by piece through the append_* functions, in the order llhttp reports the tokens.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace skjold::proxy {

// Spaces and tabs (HTTP's OWS) removed at both ends.
inline std::string_view trim_ows(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

class HttpMessage {
public:
    static constexpr std::size_t kMaxHeaders = 101;     // more -> the parser answers 400 (HAProxy: tune.http.maxhdr 101)

    void reset(char* storage, std::uint32_t capacity) noexcept;   // empty message over this storage
    bool is_request() const noexcept { return request_; }
    bool empty() const noexcept { return storage_ == nullptr; }

    // request line
    std::string_view method() const noexcept { return text(method_); }
    std::string_view uri() const noexcept { return text(uri_); }   // as received (origin-form, absolute-form, '*')
    std::string_view path() const noexcept;             // uri up to '?' (absolute-form: from the first '/' after the authority; '*' -> "*")
    std::string_view query() const noexcept;            // after '?', without it; empty if none
    int version() const noexcept { return version_; }   // 10 or 11
    // status line
    int status() const noexcept { return status_; }
    std::string_view reason() const noexcept { return text(reason_); }

    // headers, in received order (then added ones); deleted slots are skipped by every accessor below
    std::size_t header_slots() const noexcept { return nslots_; }   // including deleted
    bool header_deleted(std::size_t i) const noexcept;
    std::string_view header_name(std::size_t i) const noexcept;
    std::string_view header_value(std::size_t i) const noexcept;    // OWS trimmed
    std::size_t live_headers() const noexcept { return nslots_ - ndeleted_; }
    // first live header with this name (case-insensitive), or nullopt
    std::optional<std::string_view> find(std::string_view name) const noexcept;
    // Calls f(value) for every live line with this name, in order (lines, not comma-split values).
    template <class F> void for_each(std::string_view name, F&& f) const noexcept {
        for (std::size_t i = 0; i < nslots_; ++i)
            if (!header_deleted(i) && name_equals(header_name(i), name)) f(header_value(i));
    }

    // builders (the parser) and editing (rules, forwardfor): copy bytes into storage; false when the
    // storage is full (the caller answers as HAProxy does for a failed rewrite: 500 for requests, 502 for responses)
    bool set_request_line(std::string_view method, std::string_view uri, int version) noexcept;
    bool set_status_line(int version, int status, std::string_view reason) noexcept;
    bool add_header(std::string_view name, std::string_view value) noexcept;  // appended at the end
    int del_header(std::string_view name) noexcept;                           // every line; returns count
    bool set_header(std::string_view name, std::string_view value) noexcept;  // del + add
    void del_header_at(std::size_t i) noexcept;                               // one slot (hop-by-hop cleanup)

    // The head as it goes on the wire: start line, live headers, CRLF CRLF.
    std::size_t wire_size() const noexcept;
    std::size_t serialize(char* out, std::size_t cap) const noexcept;         // 0 if cap < wire_size()

    // Incremental building, used by HttpParser: pieces of one token arrive in order and are
    // appended to the token; a header_name piece after a value (or first) opens a new slot.
    enum class Part : std::uint8_t { none, method, uri, reason, header_name, header_value };
    bool append(Part part, std::string_view piece) noexcept;
    void end_part() noexcept { last_ = Part::none; }   // the current token is complete
    void set_request(bool request) noexcept { request_ = request; }
    void set_version(int v) noexcept { version_ = v; }
    void set_status(int s) noexcept { status_ = s; }

    // Bytes still free between text and slots (for the parser's "head too large" decision).
    std::size_t free_bytes() const noexcept;
    std::size_t used_bytes() const noexcept { return used_; }

    static bool name_equals(std::string_view a, std::string_view b) noexcept;

private:
    struct Span { std::uint32_t off = 0, len = 0; };
    struct Slot { std::uint32_t off, name_len, value_len; };   // name at off, value right after it
    static constexpr std::uint32_t kDeleted = 0x80000000u;     // flag in Slot::name_len

    std::string_view text(Span s) const noexcept { return {storage_ + s.off, s.len}; }
    Slot* slot(std::size_t i) const noexcept { return slots_end_ - 1 - i; }
    bool room(std::size_t text_bytes, std::size_t new_slots) const noexcept;
    bool copy_in(std::string_view s, Span& out) noexcept;

    char* storage_ = nullptr;
    Slot* slots_end_ = nullptr;    // slot i lives at slots_end_[-1 - i]
    std::uint32_t capacity_ = 0;
    std::uint32_t used_ = 0;       // text bytes
    std::uint32_t nslots_ = 0, ndeleted_ = 0;
    Span method_{}, uri_{}, reason_{};
    int version_ = 11;
    int status_ = 0;
    bool request_ = true;
    Part last_ = Part::none;
};

}  // namespace skjold::proxy
