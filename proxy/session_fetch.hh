#pragma once
// The samples a client session answers for ACLs and log-format values: addresses, server
// state, connection counts, and (HTTP mode) the fetches of the message being handled.
// Owner: the worker; one short-lived object per evaluation, on the stack.

#include <cstddef>

#include "proxy/acl_eval.hh"
#include "proxy/http_message.hh"
#include "proxy/shared.hh"
#include "proxy/tcp_session.hh"

namespace skjold::proxy {

// Looks the client's (peer) or the local (dst) address up once per session and caches it in
// the session (a PROXY header may have set both already).
bool know_address(TcpSession& s, bool peer) noexcept;

class SessionFetch final : public FetchContext {
public:
    // `msg`: the HTTP head the HTTP fetches read (null in tcp mode: they have no sample).
    SessionFetch(Shared& sh, TcpSession& s, const HttpMessage* msg = nullptr) noexcept : sh_(sh), s_(s), msg_(msg) {}
    bool fetch(const conf::FetchCall& f, std::size_t index, Sample& out) noexcept override;

private:
    Shared& sh_;
    TcpSession& s_;
    const HttpMessage* msg_;
};

}  // namespace skjold::proxy
