#include "http_backend.hh"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace skjold::test {

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kPollTimeoutMs = 1000;                 // a safety net: the eventfd wakes the loop to stop
constexpr auto kCloseLinger = std::chrono::seconds(2);  // after our FIN, wait this long for the peer's
constexpr std::string_view kBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}  // namespace

Reply Reply::text(std::string body, int status) {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "text/plain");
    return r;
}

Reply Reply::raw_bytes(std::string bytes, bool close_after) {
    Reply r;
    r.action = Action::raw;
    r.raw = std::move(bytes);
    r.silent_close = close_after;
    return r;
}

Reply Reply::hang() {
    Reply r;
    r.action = Action::hang;
    return r;
}

Reply Reply::abort() {
    Reply r;
    r.action = Action::abort;
    return r;
}

Reply echo_head(const SeenRequest& r) { return Reply::text(r.head.raw); }
Reply echo_body(const SeenRequest& r) { return Reply::text(r.body); }
Reply echo_path(const SeenRequest& r) { return Reply::text(r.target()); }

struct HttpBackend::Conn {
    enum class State : std::uint8_t { head, body, waiting, hanging, tunnel, closing };
    int fd = -1;
    std::uint64_t id = 0;
    std::uint64_t nth = 0;
    State state = State::head;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    SeenRequest req;                 // the request being read
    bool keep_alive = true;          // the request being answered allows another after it
    std::uint64_t body_left = 0;
    ChunkedDecoder dechunk;
    Reply pending;                   // waiting: the reply due at `due`
    Clock::time_point due{};
    bool close_after_flush = false;  // then FIN, state closing
    Clock::time_point fin_sent{};
    bool dead = false;               // closed in the sweep
};

HttpBackend::HttpBackend(std::string name) : HttpBackend([name](const SeenRequest&) { return Reply::text(name); }) {}

HttpBackend::HttpBackend(Handler handler) : handler_(std::move(handler)) {
    ServerSockets s = open_server_sockets();
    listen_fd_ = s.listen_fd;
    wake_fd_ = s.wake_fd;
    address_ = s.address;
    thread_ = std::thread([this] { run(); });
}

HttpBackend::~HttpBackend() {
    wake_server(wake_fd_);
    thread_.join();
    close(wake_fd_);
    close(listen_fd_);
}

std::vector<SeenRequest> HttpBackend::seen() const {
    std::lock_guard lock(seen_mutex_);
    return seen_;
}

SeenRequest HttpBackend::last() const {
    std::lock_guard lock(seen_mutex_);
    return seen_.empty() ? SeenRequest{} : seen_.back();
}

bool HttpBackend::wait_requests(std::uint64_t n, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (requests() < n) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

void HttpBackend::start_reply(Conn& c, Reply reply, Clock::time_point now) {
    c.pending = std::move(reply);
    if (c.pending.delay.count() > 0) {
        c.due = now + c.pending.delay;
        c.state = Conn::State::waiting;
        return;
    }
    queue_reply(c);
}

void HttpBackend::queue_reply(Conn& c) {
    Reply& r = c.pending;
    c.state = Conn::State::head;
    switch (r.action) {
        case Reply::Action::abort:
            c.dead = true;
            return;
        case Reply::Action::hang:
            c.state = Conn::State::hanging;
            return;
        case Reply::Action::raw:
            c.out += r.raw;
            if (r.silent_close || r.close) c.close_after_flush = true;
            break;
        case Reply::Action::respond: {
            bool close = r.close || r.silent_close || !c.keep_alive || r.framing == Reply::Framing::until_close;
            std::string& o = c.out;
            o += "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
            for (const auto& [n, v] : r.headers) o += n + ": " + v + "\r\n";
            if (r.framing == Reply::Framing::length) o += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
            if (r.framing == Reply::Framing::chunked) o += "Transfer-Encoding: chunked\r\n";
            if (close && !r.silent_close && r.framing != Reply::Framing::until_close) o += "Connection: close\r\n";
            o += "\r\n";
            if (r.framing == Reply::Framing::chunked) o += chunk_body(r.body, std::max<std::size_t>(r.chunk, 1), r.trailers);
            else if (r.framing != Reply::Framing::none) o += r.body;
            if (close) c.close_after_flush = true;
            if (r.tunnel) c.state = Conn::State::tunnel;
            break;
        }
    }
    if (c.close_after_flush) c.state = Conn::State::closing;
    c.pending = Reply{};
}

void HttpBackend::on_readable(Conn& c, Clock::time_point now) {
    while (!c.dead) {
        if (c.state == Conn::State::head) {
            if (c.in.empty()) return;
            HttpHead head;
            std::string err;
            long n = parse_head(c.in, true, head, err);
            if (n == 0) return;
            if (n < 0) {
                malformed_.fetch_add(1);
                c.out += kBadRequest;
                c.close_after_flush = true;
                c.state = Conn::State::closing;
                return;
            }
            c.in.erase(0, static_cast<std::size_t>(n));
            c.req = SeenRequest{};
            c.req.connection = c.id;
            c.req.nth = ++c.nth;
            c.req.head = std::move(head);
            c.dechunk = ChunkedDecoder{};
            c.body_left = 0;
            const HttpHead& h = c.req.head;
            c.keep_alive = h.start[2] == "HTTP/1.1" ? !h.has_token("Connection", "close")
                                                    : h.has_token("Connection", "keep-alive");
            c.req.chunked = h.has_token("Transfer-Encoding", "chunked");
            if (!c.req.chunked) {
                auto cl = h.header("Content-Length");
                std::uint64_t len = 0;
                if (cl) {
                    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), len);
                    if (ec != std::errc() || p != cl->data() + cl->size()) {
                        malformed_.fetch_add(1);
                        c.out += kBadRequest;
                        c.close_after_flush = true;
                        c.state = Conn::State::closing;
                        return;
                    }
                }
                c.body_left = len;
            }
            bool has_body = c.req.chunked || c.body_left > 0;
            if (has_body && send_continue_ && h.has_token("Expect", "100-continue")) c.out += "HTTP/1.1 100 Continue\r\n\r\n";
            c.state = Conn::State::body;
        }
        if (c.state == Conn::State::body) {
            if (c.req.chunked) {
                std::size_t used = 0;
                auto st = c.dechunk.feed(c.in, used, c.req.body);
                c.in.erase(0, used);
                if (st == ChunkedDecoder::Status::need_more) return;
                if (st == ChunkedDecoder::Status::error) {
                    malformed_.fetch_add(1);
                    c.out += kBadRequest;
                    c.close_after_flush = true;
                    c.state = Conn::State::closing;
                    return;
                }
                c.req.trailers = c.dechunk.trailers();
            } else {
                auto take = static_cast<std::size_t>(std::min<std::uint64_t>(c.body_left, c.in.size()));
                c.req.body.append(c.in, 0, take);
                c.in.erase(0, take);
                c.body_left -= take;
                if (c.body_left > 0) return;
            }
            {
                std::lock_guard lock(seen_mutex_);
                seen_.push_back(c.req);
            }
            requests_.fetch_add(1);
            start_reply(c, handler_(c.req), now);
            continue;  // a pipelined request may follow (only once this one is answered: state head)
        }
        return;
    }
}

void HttpBackend::run() noexcept {
    std::vector<std::unique_ptr<Conn>> conns;
    std::vector<pollfd> fds;
    std::vector<char> buf(256 * 1024);
    std::uint64_t next_id = 0;
    while (true) {
        auto now = Clock::now();
        int timeout = kPollTimeoutMs;
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const auto& c : conns) {
            short ev = POLLIN;
            if (c->sent < c->out.size()) ev |= POLLOUT;
            fds.push_back({c->fd, ev, 0});
            if (c->state == Conn::State::waiting) {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c->due - now).count();
                timeout = std::min<int>(timeout, static_cast<int>(std::max<long long>(ms, 0)));
            }
        }
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) break;
        now = Clock::now();
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = *conns[i];
            short rev = fds[i + 2].revents;
            if (rev & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
                if (n > 0) {
                    bytes_in_.fetch_add(static_cast<std::uint64_t>(n));
                    std::string_view got(buf.data(), static_cast<std::size_t>(n));
                    switch (c.state) {
                        case Conn::State::tunnel: c.out.append(got); break;
                        case Conn::State::hanging: break;
                        case Conn::State::closing:
                            if (c.sent >= c.out.size()) c.dead = true;  // data after our FIN: gone, as a closed socket
                            break;
                        default:
                            c.in.append(got);
                            on_readable(c, now);
                    }
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    if (n == 0 && c.state == Conn::State::head && !c.in.empty()) malformed_.fetch_add(1);
                    if (n == 0 && c.state == Conn::State::tunnel && c.sent < c.out.size()) {
                        c.close_after_flush = true;  // flush the echo, then FIN
                        c.state = Conn::State::closing;
                    } else {
                        c.dead = true;
                    }
                }
            }
            if (c.state == Conn::State::waiting && now >= c.due) {
                queue_reply(c);
                if (!c.dead && c.state == Conn::State::head) on_readable(c, now);
            }
            if (!c.dead && c.sent < c.out.size()) {
                ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
                if (n > 0) c.sent += static_cast<std::size_t>(n);
                else if (n < 0 && errno != EAGAIN && errno != EINTR) c.dead = true;
                if (c.sent == c.out.size()) {
                    c.out.clear();
                    c.sent = 0;
                }
            }
            if (!c.dead && c.close_after_flush && c.out.empty()) {
                shutdown(c.fd, SHUT_WR);
                c.close_after_flush = false;
                c.fin_sent = now;
            }
            if (c.state == Conn::State::closing && !c.close_after_flush && c.out.empty() &&
                now - c.fin_sent > kCloseLinger)
                c.dead = true;
        }
        if (fds[1].revents & POLLIN) {
            while (true) {
                int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;
                auto c = std::make_unique<Conn>();
                c->fd = fd;
                c->id = ++next_id;
                conns.push_back(std::move(c));
                accepted_.fetch_add(1);
                open_.fetch_add(1);
            }
        }
        for (std::size_t i = conns.size(); i-- > 0;) {
            if (!conns[i]->dead) continue;
            close(conns[i]->fd);
            conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
            open_.fetch_sub(1);
        }
    }
    for (auto& c : conns) close(c->fd);
    open_.store(0);
}

}  // namespace skjold::test

namespace skjold::test {

std::string http_listen_config(const HttpBackend& server, std::string_view extra, int nbthread) {
    std::string cfg = "global\n";
    if (nbthread > 0) cfg += "    nbthread " + std::to_string(nbthread) + "\n";
    cfg += kHttpDefaults;
    cfg += "listen fe\n    bind 127.0.0.1:0\n";
    cfg += extra;
    cfg += "    server s1 " + server.addr() + "\n";
    return cfg;
}

}  // namespace skjold::test
