#pragma once
// What the abuse tests (abuse_test.cc) need beyond the harness: a slowloris attacker (thousands of
// non-blocking connections driven by one epoll loop), a server whose response never ends or is
// reset mid-body, and /proc readings of the skjold process (CPU time, resident memory).
// Owner: the test thread (EndlessServer runs its own thread, stopped and joined by its destructor).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <sys/types.h>
#include <thread>

#include "address.hh"

namespace skjold::test {

// CPU time (user + system) the process `pid` has used so far; 0 when /proc cannot say.
std::chrono::milliseconds process_cpu(pid_t pid);
// Its resident set (VmRSS) in kB; -1 when /proc cannot say.
long process_rss_kb(pid_t pid);
// The integer in environment variable `name`, else `fallback` (to scale a test down by hand).
int env_int(const char* name, int fallback);

struct SlowlorisResult {
    int connected = 0;                       // connections established
    int got_408 = 0;                         // answered "HTTP/1.1 408" before the close
    int closed = 0;                          // closed by the other side (EOF or reset)
    std::chrono::milliseconds last_close{0}; // the last close, after the attack started
};
// Opens `connections` connections to `at` and sends each the start of a request head one byte per
// second (spread evenly over the second), never finishing it, until every one was closed by the
// other side or `limit` has passed since the first byte. One thread, epoll, non-blocking sockets.
SlowlorisResult slowloris(const Address& at, int connections, std::chrono::milliseconds limit);

// An HTTP server on 127.0.0.1:0 that misbehaves after the request head, one connection at a time:
// `endless` answers 200 with a chunked body that never ends (16 KiB chunks, as fast as the peer
// takes them); `reset_mid_body` announces Content-Length kResetLength, sends 256 KiB of it, then
// resets the connection (SO_LINGER 0).
class EndlessServer {
public:
    enum class Mode : std::uint8_t { endless, reset_mid_body };
    static constexpr std::size_t kResetLength = 10'000'000;

    explicit EndlessServer(Mode mode);
    ~EndlessServer();
    EndlessServer(const EndlessServer&) = delete;
    EndlessServer& operator=(const EndlessServer&) = delete;

    const Address& address() const noexcept { return address_; }
    std::uint64_t bytes_sent() const noexcept { return sent_.load(); }   // body bytes, all connections
    // Waits until a connection has ended (endless: its peer closed, so a write failed); false on timeout.
    bool wait_ended(std::chrono::milliseconds timeout) const;

private:
    void run() noexcept;
    void serve(int fd) noexcept;

    Mode mode_;
    int listen_fd_ = -1;
    Address address_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<std::uint64_t> ended_{0};
    std::thread thread_;
};

}  // namespace skjold::test
