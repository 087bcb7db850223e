#pragma once
// A backend that can die and come back on the same port, for failover tests: the configuration
// names a fixed address, so "restarting the primary" must reuse it. It writes its name on every
// connection and closes (like TcpAnswerServer, which always binds port 0). One thread handles one
// connection at a time; every wait is bounded. Owner: the test thread (construct, read, destroy).

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "address.hh"

namespace skjold::test {

class FixedPortServer {
public:
    // Listens on 127.0.0.1:port (0: any free port) with SO_REUSEADDR, so a new instance can
    // take the port of one just destroyed. Throws std::runtime_error when it cannot.
    FixedPortServer(std::string name, std::uint16_t port = 0);
    ~FixedPortServer();   // closes the listener first: from then on connects are refused
    FixedPortServer(const FixedPortServer&) = delete;
    FixedPortServer& operator=(const FixedPortServer&) = delete;

    const Address& address() const noexcept { return address_; }
    std::uint16_t port() const noexcept { return address_.port(); }
    std::uint64_t accepted() const noexcept { return accepted_.load(); }

private:
    void run() noexcept;

    std::string name_;
    int listen_fd_ = -1;
    Address address_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> accepted_{0};
    std::thread thread_;
};

}  // namespace skjold::test
