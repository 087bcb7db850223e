#include "proxy/http_message.hh"

#include <cstring>

namespace skjold::proxy {

namespace {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

char* put(char* p, std::string_view s) noexcept {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

char* put_version(char* p, int version) noexcept {
    return put(p, version == 10 ? std::string_view("HTTP/1.0") : std::string_view("HTTP/1.1"));
}

}  // namespace

bool HttpMessage::name_equals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

void HttpMessage::reset(char* storage, std::uint32_t capacity) noexcept {
    storage_ = storage;
    // Slots are 4-byte aligned at the end of the block.
    auto end = reinterpret_cast<std::uintptr_t>(storage) + capacity;
    end &= ~std::uintptr_t(alignof(Slot) - 1);
    slots_end_ = storage ? reinterpret_cast<Slot*>(end) : nullptr;
    capacity_ = storage ? std::uint32_t(reinterpret_cast<char*>(slots_end_) - storage) : 0;
    used_ = 0;
    nslots_ = ndeleted_ = 0;
    method_ = uri_ = reason_ = Span{};
    version_ = 11;
    status_ = 0;
    request_ = true;
    last_ = Part::none;
}

std::size_t HttpMessage::free_bytes() const noexcept {
    std::size_t slot_bytes = std::size_t(nslots_) * sizeof(Slot);
    return capacity_ - used_ - slot_bytes;
}

bool HttpMessage::room(std::size_t text_bytes, std::size_t new_slots) const noexcept {
    return storage_ != nullptr && text_bytes + new_slots * sizeof(Slot) <= free_bytes();
}

bool HttpMessage::copy_in(std::string_view s, Span& out) noexcept {
    if (!room(s.size(), 0)) return false;
    std::memcpy(storage_ + used_, s.data(), s.size());
    out = Span{used_, std::uint32_t(s.size())};
    used_ += std::uint32_t(s.size());
    return true;
}

std::string_view HttpMessage::path() const noexcept {
    std::string_view u = uri();
    if (u == "*") return u;
    std::size_t start = 0;
    if (u.empty() || u.front() != '/') {
        std::size_t scheme = u.find("://");
        if (scheme == std::string_view::npos) return {};
        start = u.find('/', scheme + 3);
        if (start == std::string_view::npos) return {};
    }
    std::size_t q = u.find('?', start);
    return u.substr(start, q == std::string_view::npos ? std::string_view::npos : q - start);
}

std::string_view HttpMessage::query() const noexcept {
    std::string_view u = uri();
    std::size_t q = u.find('?');
    return q == std::string_view::npos ? std::string_view{} : u.substr(q + 1);
}

bool HttpMessage::header_deleted(std::size_t i) const noexcept {
    return i >= nslots_ || (slot(i)->name_len & kDeleted) != 0;
}

std::string_view HttpMessage::header_name(std::size_t i) const noexcept {
    if (i >= nslots_) return {};
    const Slot* s = slot(i);
    return {storage_ + s->off, s->name_len & ~kDeleted};
}

std::string_view HttpMessage::header_value(std::size_t i) const noexcept {
    if (i >= nslots_) return {};
    const Slot* s = slot(i);
    return trim_ows({storage_ + s->off + (s->name_len & ~kDeleted), s->value_len});
}

std::optional<std::string_view> HttpMessage::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < nslots_; ++i)
        if (!header_deleted(i) && name_equals(header_name(i), name)) return header_value(i);
    return std::nullopt;
}

bool HttpMessage::set_request_line(std::string_view method, std::string_view uri, int version) noexcept {
    if (!room(method.size() + uri.size(), 0)) return false;
    copy_in(method, method_);
    copy_in(uri, uri_);
    version_ = version;
    request_ = true;
    last_ = Part::none;
    return true;
}

bool HttpMessage::set_status_line(int version, int status, std::string_view reason) noexcept {
    if (!copy_in(reason, reason_)) return false;
    version_ = version;
    status_ = status;
    request_ = false;
    last_ = Part::none;
    return true;
}

bool HttpMessage::add_header(std::string_view name, std::string_view value) noexcept {
    if (!room(name.size() + value.size(), 1)) return false;
    Slot* s = slot(nslots_);
    s->off = used_;
    s->name_len = std::uint32_t(name.size());
    s->value_len = std::uint32_t(value.size());
    std::memcpy(storage_ + used_, name.data(), name.size());
    std::memcpy(storage_ + used_ + name.size(), value.data(), value.size());
    used_ += std::uint32_t(name.size() + value.size());
    ++nslots_;
    last_ = Part::none;   // a later parser piece must not extend this header
    return true;
}

void HttpMessage::del_header_at(std::size_t i) noexcept {
    if (header_deleted(i)) return;
    slot(i)->name_len |= kDeleted;
    ++ndeleted_;
}

int HttpMessage::del_header(std::string_view name) noexcept {
    int n = 0;
    for (std::size_t i = 0; i < nslots_; ++i)
        if (!header_deleted(i) && name_equals(header_name(i), name)) {
            del_header_at(i);
            ++n;
        }
    return n;
}

bool HttpMessage::set_header(std::string_view name, std::string_view value) noexcept {
    // Check the room first so a failed rewrite leaves the message unchanged.
    if (!room(name.size() + value.size(), 1)) return false;
    del_header(name);
    return add_header(name, value);
}

bool HttpMessage::append(Part part, std::string_view piece) noexcept {
    bool continues = part == last_;
    if (part == Part::header_name && !continues) {
        if (!room(piece.size(), 1)) return false;
        Slot* s = slot(nslots_++);
        *s = Slot{used_, 0, 0};
    } else if (part == Part::header_value && nslots_ == 0) {
        return false;   // a value without a name: the parser never does this
    } else if (!room(piece.size(), 0)) {
        return false;
    }
    std::memcpy(storage_ + used_, piece.data(), piece.size());
    auto n = std::uint32_t(piece.size());
    switch (part) {
    case Part::method:
        if (!continues) method_ = Span{used_, 0};
        method_.len += n;
        request_ = true;
        break;
    case Part::uri:
        if (!continues) uri_ = Span{used_, 0};
        uri_.len += n;
        break;
    case Part::reason:
        if (!continues) reason_ = Span{used_, 0};
        reason_.len += n;
        request_ = false;
        break;
    case Part::header_name: slot(nslots_ - 1)->name_len += n; break;
    case Part::header_value: slot(nslots_ - 1)->value_len += n; break;
    case Part::none: return false;
    }
    used_ += n;
    last_ = part;
    return true;
}

std::size_t HttpMessage::wire_size() const noexcept {
    std::size_t n = 0;
    if (request_)
        n += method_.len + 1 + uri_.len + 1 + 8 + 2;
    else
        n += 8 + 1 + 3 + 1 + reason_.len + 2;
    for (std::size_t i = 0; i < nslots_; ++i) {
        if (header_deleted(i)) continue;
        n += header_name(i).size() + 2 + header_value(i).size() + 2;
    }
    return n + 2;
}

std::size_t HttpMessage::serialize(char* out, std::size_t cap) const noexcept {
    std::size_t need = wire_size();
    if (cap < need || storage_ == nullptr) return 0;
    char* p = out;
    if (request_) {
        p = put(p, method());
        *p++ = ' ';
        p = put(p, uri());
        *p++ = ' ';
        p = put_version(p, version_);
    } else {
        p = put_version(p, version_);
        int st = (status_ >= 100 && status_ <= 999) ? status_ : 500;
        *p++ = ' ';
        *p++ = char('0' + st / 100);
        *p++ = char('0' + st / 10 % 10);
        *p++ = char('0' + st % 10);
        *p++ = ' ';
        p = put(p, reason());
    }
    p = put(p, "\r\n");
    for (std::size_t i = 0; i < nslots_; ++i) {
        if (header_deleted(i)) continue;
        p = put(p, header_name(i));
        p = put(p, ": ");
        p = put(p, header_value(i));
        p = put(p, "\r\n");
    }
    p = put(p, "\r\n");
    return std::size_t(p - out);
}

}  // namespace skjold::proxy
