#pragma once
// A backend in a process of its own, so that a test can kill -9 it as an operator (or the OOM
// killer) would: the kernel, not the server, ends its connections. A small python3 program
// (embedded in server_process.cc) listening on 127.0.0.1. Owner: the test thread that started
// it; the destructor kills (SIGKILL, by PID) and reaps a process that is still running.
//
// Modes:
//   stream  every connection gets an endless stream of 'x' bytes (tcp mode tests);
//   http    HTTP/1.1 keep-alive: GET /big answers 200 with Content-Length 1e9 and streams 'x'
//           bytes forever; /hang reads the request, prints "request" on its stdout and never
//           answers; any other path answers 200 "hello".

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "address.hh"

namespace skjold::test {

using namespace std::chrono_literals;

class ServerProcess {
public:
    enum class Mode : std::uint8_t { stream, http };

    // Starts the server on 127.0.0.1:port (0: a free port; SO_REUSEADDR, so a restarted server
    // takes the port of one just killed). Returns once it listens; FAILs the test (and returns a
    // server with pid() == -1) when python3 is missing or it does not start within 5 s.
    static ServerProcess start(Mode mode, std::uint16_t port = 0);

    ServerProcess(ServerProcess&& other) noexcept;
    ServerProcess& operator=(ServerProcess&&) = delete;
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;
    ~ServerProcess();

    pid_t pid() const noexcept { return pid_; }
    const Address& address() const noexcept { return address_; }
    // Waits for the next line the server prints ("request": a /hang request arrived); false on timeout.
    bool wait_line(std::string_view line, std::chrono::milliseconds timeout = 5s);
    // SIGKILL, then reap. Idempotent.
    void kill9();

private:
    ServerProcess() = default;
    pid_t pid_ = -1;
    int out_fd_ = -1;   // the server's stdout
    std::string out_;   // read from it, not yet matched
    Address address_;
};

}  // namespace skjold::test
