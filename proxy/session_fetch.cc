#include "proxy/session_fetch.hh"

#include <sys/socket.h>

#include "proxy/http_fetch.hh"
#include "proxy/tls_conn.hh"

namespace skjold::proxy {

namespace {

bool fill_addr(int fd, bool peer, geo::IpAddr& ip, std::uint16_t& port, core::SockAddr* sa) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) return false;
    auto a = core::SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
    if (sa != nullptr) *sa = a;
    port = a.port();
    auto parsed = geo::IpAddr::from_sockaddr(a.sa());
    if (!parsed) return false;   // unix socket: no IP
    ip = *parsed;
    return true;
}

void set_ip(Sample& o, const geo::IpAddr& a) noexcept {
    o.type = conf::SampleType::ip;
    o.ip = a;
}
void set_int(Sample& o, std::int64_t v) noexcept {
    o.type = conf::SampleType::integer;
    o.i = v;
}
void set_bool(Sample& o, bool b) noexcept {
    o.type = conf::SampleType::boolean;
    o.b = b;
}

}  // namespace

bool know_address(TcpSession& s, bool peer) noexcept {
    if (peer && !s.src_known) s.src_known = fill_addr(s.cfd, true, s.src, s.src_port, nullptr);
    if (!peer && !s.dst_known) s.dst_known = fill_addr(s.cfd, false, s.dst, s.dst_port, &s.dst_sa);
    return peer ? s.src_known : s.dst_known;
}

bool SessionFetch::fetch(const conf::FetchCall& f, std::size_t index, Sample& out) noexcept {
    if (msg_ != nullptr && is_http_fetch(f)) return fetch_http(f, msg_, index, out);
    if (index > 0) return false;
    using conf::FetchId;
    switch (f.id) {
    case FetchId::src:
    case FetchId::src_port:
        if (!know_address(s_, true)) return false;
        if (f.id == FetchId::src) set_ip(out, s_.src);
        else set_int(out, s_.src_port);
        return true;
    case FetchId::dst:
    case FetchId::dst_port:
        if (!know_address(s_, false)) return false;
        if (f.id == FetchId::dst) set_ip(out, s_.dst);
        else set_int(out, s_.dst_port);
        return true;
    // TLS termination (`bind ... ssl`): the session's TlsConn; its views live until the
    // session's slot is released, longer than any evaluation.
    case FetchId::ssl_fc: set_bool(out, s_.tls != nullptr); return true;
    case FetchId::ssl_fc_sni:
    case FetchId::ssl_fc_protocol:
    case FetchId::ssl_fc_alpn: {
        if (s_.tls == nullptr) return false;
        std::string_view v = f.id == FetchId::ssl_fc_sni        ? s_.tls->sni()
                             : f.id == FetchId::ssl_fc_protocol ? s_.tls->protocol()
                                                                : s_.tls->alpn();
        if (v.empty()) return false;
        out.type = conf::SampleType::str;
        out.s = v;
        return true;
    }
    case FetchId::nbsrv: {
        const auto* b = sh_.state->backend(f.backend);
        set_int(out, b ? health::nbsrv(*b) : 0);
        return true;
    }
    case FetchId::srv_is_up: {
        const auto* b = sh_.state->backend(f.backend);
        set_bool(out, b != nullptr && health::srv_is_up(*b, f.server));
        return true;
    }
    case FetchId::fe_conn: set_int(out, static_cast<std::int64_t>(sh_.proxy_cur_conn(s_.frontend))); return true;
    case FetchId::be_conn: set_int(out, static_cast<std::int64_t>(sh_.proxy_cur_conn(f.backend))); return true;
    case FetchId::always_true: set_bool(out, true); return true;
    case FetchId::always_false: set_bool(out, false); return true;
    default: return false;   // HTTP fetches in tcp mode
    }
}

}  // namespace skjold::proxy
