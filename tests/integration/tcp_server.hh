#pragma once
// In-process TCP servers on 127.0.0.1:0 that stand in for skjold's backends. One thread per server
// runs a poll() loop over all its connections; the test thread only constructs it, reads its
// counters, and destroys it (which stops and joins the thread). Nothing blocks without a timeout.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "address.hh"

namespace skjold::test {

class TcpServer {
public:
    // After the banner: `echo` returns every byte received and answers the client's FIN with its own
    // (after the last echoed byte); `close` sends FIN right after the banner (and drains until the
    // client's FIN before closing, so the client never sees a reset).
    enum class Then : std::uint8_t { echo, close };

    TcpServer(std::string banner, Then then);
    ~TcpServer();
    TcpServer(const TcpServer&) = delete;
    TcpServer& operator=(const TcpServer&) = delete;

    const Address& address() const noexcept { return address_; }
    std::uint64_t accepted() const noexcept { return accepted_.load(); }         // connections so far
    std::uint64_t open_connections() const noexcept { return open_.load(); }    // right now
    std::uint64_t peak_connections() const noexcept { return peak_.load(); }    // most at once
    std::uint64_t bytes_received() const noexcept { return bytes_in_.load(); }

private:
    struct Conn;
    void run() noexcept;

    std::string banner_;
    Then then_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // eventfd: the destructor writes it to end run() without waiting for a timeout
    Address address_;
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> open_{0};
    std::atomic<std::uint64_t> peak_{0};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::thread thread_;
};

// Echoes everything; half-close aware (see Then::echo).
class TcpEchoServer : public TcpServer {
public:
    TcpEchoServer() : TcpServer({}, Then::echo) {}
};

// Writes `text` on every connection (so a test sees WHICH server answered), then closes or echoes.
class TcpAnswerServer : public TcpServer {
public:
    explicit TcpAnswerServer(std::string text, Then then = Then::close) : TcpServer(std::move(text), then) {}
};

}  // namespace skjold::test
