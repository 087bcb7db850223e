#include "server_process.hh"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "skjold_process.hh"

namespace skjold::test {

namespace {

using Clock = std::chrono::steady_clock;

// The server: one thread per connection; prints its port, then "request" for each /hang request.
constexpr const char* kProgram = R"PY(
import socket, sys, threading
mode, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', port))
ls.listen(128)
print(ls.getsockname()[1], flush=True)
chunk = b'x' * 65536

def serve(c):
    try:
        if mode == 'stream':
            while True:
                c.sendall(chunk)
        buf = b''
        while True:
            while b'\r\n\r\n' not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, _, buf = buf.partition(b'\r\n\r\n')
            lines = head.split(b'\r\n')
            path = lines[0].split(b' ')[1]
            length = 0
            for h in lines[1:]:
                k, _, v = h.partition(b':')
                if k.strip().lower() == b'content-length':
                    length = int(v)
            while len(buf) < length:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            buf = buf[length:]
            if path == b'/big':
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n')
                while True:
                    c.sendall(chunk)
            elif path == b'/hang':
                print('request', flush=True)
                while c.recv(65536):
                    pass
                return
            else:
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
    except OSError:
        pass
    finally:
        c.close()

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

// Reads what is there (non-blocking fd) into `out`; false at EOF or error.
bool read_some(int fd, std::string& out) {
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

}  // namespace

ServerProcess ServerProcess::start(Mode mode, std::uint16_t port) {
    ServerProcess s;
    int fds[2];
    REQUIRE_MESSAGE(pipe2(fds, O_CLOEXEC) == 0, "pipe: " << std::strerror(errno));
    s.pid_ = spawn_process({"python3", "-c", kProgram, mode == Mode::stream ? "stream" : "http",
                            std::to_string(port)},
                           fds[1], 2);
    close(fds[1]);
    s.out_fd_ = fds[0];
    fcntl(s.out_fd_, F_SETFL, O_NONBLOCK);
    const auto deadline = Clock::now() + 5s;
    while (s.out_.find('\n') == std::string::npos && Clock::now() < deadline) {
        pollfd p{s.out_fd_, POLLIN, 0};
        poll(&p, 1, 100);
        if (!read_some(s.out_fd_, s.out_)) break;
    }
    const auto nl = s.out_.find('\n');
    if (nl == std::string::npos) {
        FAIL_CHECK("the python3 server did not start (is python3 installed?)");
        s.kill9();
        return s;
    }
    auto addr = Address::ip("127.0.0.1", static_cast<std::uint16_t>(std::stoi(s.out_.substr(0, nl))));
    s.address_ = *addr;
    s.out_.erase(0, nl + 1);
    return s;
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(other.pid_), out_fd_(other.out_fd_), out_(std::move(other.out_)), address_(other.address_) {
    other.pid_ = -1;
    other.out_fd_ = -1;
}

ServerProcess::~ServerProcess() {
    kill9();
    if (out_fd_ >= 0) close(out_fd_);
}

bool ServerProcess::wait_line(std::string_view line, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto nl = out_.find('\n');
        if (nl != std::string::npos) {
            const bool match = std::string_view(out_).substr(0, nl) == line;
            out_.erase(0, nl + 1);
            if (match) return true;
            continue;
        }
        if (Clock::now() >= deadline || out_fd_ < 0) return false;
        pollfd p{out_fd_, POLLIN, 0};
        poll(&p, 1, 50);
        if (!read_some(out_fd_, out_)) return false;
    }
}

void ServerProcess::kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

}  // namespace skjold::test
