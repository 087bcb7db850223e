#pragma once
// Hop-by-hop header handling (RFC 9110 7.6.1, RFC 9112 9.6): what a message's Connection header
// says about the connection, and the removal of the fields that must not cross a proxy.
// Owner: http-core. Pure functions over an HttpMessage: noexcept, no allocation.

#include "proxy/http_message.hh"

namespace skjold::proxy {

struct HopByHop {
    bool close = false;        // Connection: close
    bool keep_alive = false;   // Connection: keep-alive (HTTP/1.0 persistence)
    bool upgrade = false;      // Connection: upgrade
};

// Reads every Connection line, then deletes them, the fields they name (except the framing
// and routing ones: Host, Content-Length, Transfer-Encoding), Keep-Alive, Proxy-Connection and
// TE; Upgrade too unless `keep_upgrade` and Connection listed "upgrade". The caller adds the
// Connection header the next hop needs.
HopByHop strip_hop_by_hop(HttpMessage& m, bool keep_upgrade) noexcept;

}  // namespace skjold::proxy
