#pragma once
// Shared by the Checker's unit tests: in-process servers on 127.0.0.1 on their own threads,
// configurations through the real parser, a log collector, bounded waits.

#include <doctest/doctest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "conf/loader.hh"
#include "core/worker.hh"
#include "health/checker.hh"

namespace skjold::health_test {

using health::Checker;


// A free port on 127.0.0.1, nobody listening on it (connects are refused).
inline std::uint16_t closed_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

// A backend stand-in. accept: accepts and closes. http: reads the request head, answers
// `response`, closes. silent: accepts and never reads nor writes. reset: reads the request
// head and resets the connection.
class TestServer {
public:
    enum class Mode { accept, http, silent, reset };

    explicit TestServer(Mode mode, std::string response = {}, std::uint16_t port = 0)
        : mode_(mode), response_(std::move(response)) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(listen(fd_, 64) == 0);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~TestServer() {
        stop_ = true;
        thread_.join();
        close(fd_);
        for (int c : held_) close(c);
    }
    std::uint16_t port() const { return port_; }
    std::vector<std::uint64_t> accept_times() {
        std::lock_guard<std::mutex> g(mu_);
        return accepts_;
    }
    std::size_t accepted() { return accept_times().size(); }
    std::string last_request() {
        std::lock_guard<std::mutex> g(mu_);
        return request_;
    }

private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 5) <= 0) continue;
            const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            {
                std::lock_guard<std::mutex> g(mu_);
                accepts_.push_back(core::monotonic_ms());
            }
            if (mode_ == Mode::silent) {
                held_.push_back(c);
                continue;
            }
            if (mode_ == Mode::http || mode_ == Mode::reset) serve_http(c);
            close(c);
        }
    }
    void serve_http(int c) {
        std::string req;
        char buf[2048];
        const std::uint64_t give_up = core::monotonic_ms() + 500;
        while (req.find("\r\n\r\n") == std::string::npos && core::monotonic_ms() < give_up) {
            pollfd p{c, POLLIN, 0};
            if (poll(&p, 1, 10) <= 0) continue;
            const ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0) break;
            req.append(buf, static_cast<std::size_t>(n));
        }
        {
            std::lock_guard<std::mutex> g(mu_);
            request_ = req;
        }
        if (mode_ == Mode::reset) {
            const linger lg{1, 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            return;
        }
        ssize_t w = send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        (void)w;
    }

    Mode mode_;
    std::string response_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mu_;
    std::vector<std::uint64_t> accepts_;
    std::string request_;
    std::vector<int> held_;   // silent mode; server thread only, closed after join
};

inline std::string http_response(const std::string& status, const std::string& body = {}) {
    return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

inline std::shared_ptr<const conf::Snapshot> load(const std::string& text) {
    auto r = conf::load_string(text, "checker_test.cfg");
    for (const auto& e : r.errors) MESSAGE(e.str());
    REQUIRE(r.snapshot);
    return r.snapshot;
}

// Collects what the Checker logs (its thread) for the test thread.
struct LogSink {
    std::mutex mu;
    std::vector<std::pair<core::Level, std::string>> lines;
    std::vector<int> proxies;   // the proxy index each line was logged for

    Checker::Options options() {
        Checker::Options o;
        o.log = [this](int px, core::Level l, std::string_view s) {
            std::lock_guard<std::mutex> g(mu);
            lines.emplace_back(l, std::string(s));
            proxies.push_back(px);
        };
        return o;
    }
    int proxy_of(const std::string& text) {
        std::lock_guard<std::mutex> g(mu);
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].second == text) return proxies[i];
        return -1;
    }
    std::vector<std::pair<core::Level, std::string>> snapshot() {
        std::lock_guard<std::mutex> g(mu);
        return lines;
    }
    // The lines with "check duration: Nms" replaced by "check duration: Xms".
    std::vector<std::string> texts() {
        std::vector<std::string> out;
        static const std::regex d("check duration: [0-9]+ms");
        for (auto& [lvl, s] : snapshot()) out.push_back(std::regex_replace(s, d, "check duration: Xms"));
        return out;
    }
};

template <class Pred>
bool wait_until(Pred pred, std::uint64_t timeout_ms) {
    const std::uint64_t end = core::monotonic_ms() + timeout_ms;
    while (core::monotonic_ms() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

inline std::string addr(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace skjold::health_test
