#include "proxy/http_hop.hh"

#include <string_view>

namespace skjold::proxy {

namespace {

bool is(std::string_view a, std::string_view b) noexcept { return HttpMessage::name_equals(a, b); }

// Fields a Connection header may not remove: the message's framing and its target.
bool protected_field(std::string_view name) noexcept {
    return is(name, "host") || is(name, "content-length") || is(name, "transfer-encoding") || is(name, "upgrade");
}

}  // namespace

HopByHop strip_hop_by_hop(HttpMessage& m, bool keep_upgrade) noexcept {
    HopByHop h;
    std::size_t upgrade_line = m.header_slots();   // none yet
    const std::size_t slots = m.header_slots();
    // One pass for the fixed names; the names Connection lists are removed after it.
    for (std::size_t i = 0; i < slots; ++i) {
        if (m.header_deleted(i)) continue;
        const std::string_view name = m.header_name(i);
        if (is(name, "connection")) {
            std::string_view v = m.header_value(i);
            while (!v.empty()) {
                std::size_t comma = v.find(',');
                std::string_view token = trim_ows(v.substr(0, comma));
                v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
                if (token.empty()) continue;
                if (is(token, "close")) h.close = true;
                else if (is(token, "keep-alive")) h.keep_alive = true;
                else if (is(token, "upgrade")) h.upgrade = true;
                else if (!protected_field(token)) m.del_header(token);
            }
            m.del_header_at(i);
        } else if (is(name, "keep-alive") || is(name, "proxy-connection") || is(name, "te")) {
            m.del_header_at(i);
        } else if (is(name, "upgrade")) {
            upgrade_line = i;
        }
    }
    if (upgrade_line < slots && !(keep_upgrade && h.upgrade)) m.del_header("upgrade");
    return h;
}

}  // namespace skjold::proxy
