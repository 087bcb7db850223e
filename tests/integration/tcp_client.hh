#pragma once
// Client side of the integration tests: a TCP connection with a deadline on every call. Owner: the
// test thread that opened it.

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "address.hh"

namespace skjold::test {

using namespace std::chrono_literals;

// What a read loop saw, and why it stopped.
struct Received {
    enum class End : std::uint8_t { eof, reset, timeout, count };
    std::string data;
    End end = End::timeout;
    std::chrono::milliseconds elapsed{0};
};
const char* to_string(Received::End e) noexcept;
std::ostream& operator<<(std::ostream& os, Received::End e);

class Connection {
public:
    // Connects to `to`, from `from_ip` when given (e.g. "127.0.0.2": bind() before connect(); all of
    // 127.0.0.0/8 is loopback on Linux). Never throws: check connected() and error().
    static Connection open(const Address& to, std::string_view from_ip = {},
                           std::chrono::milliseconds timeout = 5s);

    Connection() = default;
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    bool connected() const noexcept { return fd_ >= 0; }
    const std::string& error() const noexcept { return error_; }
    int fd() const noexcept { return fd_; }
    Address local() const { return Address::local_of(fd_); }

    // Sends every byte, or returns false (reset, timeout; error() says which).
    bool send_all(std::string_view data, std::chrono::milliseconds timeout = 5s);
    // Reads until EOF, reset or timeout.
    Received recv_all(std::chrono::milliseconds timeout = 5s);
    // Reads until `n` bytes (End::count), EOF, reset or timeout.
    Received recv_n(std::size_t n, std::chrono::milliseconds timeout = 5s);
    // Sends `data` while reading (so neither side's buffers can deadlock the transfer), then
    // shuts down the write side and reads until EOF. The reply is everything read.
    Received exchange(std::string_view data, std::chrono::milliseconds timeout = 10s);
    bool shutdown_write();
    void close();

private:
    Received read_until(std::size_t limit, std::chrono::milliseconds timeout);

    int fd_ = -1;
    std::string error_;
};

// Opens one connection per message to `to`, all at once, and keeps them all open until every one
// has its reply: each connection sends its message and reads message.size() bytes back (an echo
// backend). Returns the reply per connection ("" for one that failed); `failures` lists why.
std::vector<std::string> echo_concurrently(const Address& to, const std::vector<std::string>& messages,
                                           std::vector<std::string>& failures,
                                           std::chrono::milliseconds timeout = 20s);

}  // namespace skjold::test
