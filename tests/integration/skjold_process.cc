#include "skjold_process.hh"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness.hh"

#ifndef SKJOLD_BIN
#error "SKJOLD_BIN (the path of the skjold binary) must be defined by the build"
#endif

namespace skjold::test {
namespace {

using Clock = std::chrono::steady_clock;

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

std::string describe_exit(int code) {
    if (code > 128) return "was killed by signal " + std::to_string(code - 128);
    return "exited with code " + std::to_string(code);
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// fork + exec with stdin from /dev/null and stdout/stderr on the given descriptors. The child dies
// with the test process (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves nothing behind.
// Between fork and exec only async-signal-safe calls: the test process has threads.
// A program name without '/' is looked up in $PATH here, before fork.
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::size_t pos = 0;
    while (pos <= dirs.size()) {
        auto end = dirs.find(':', pos);
        if (end == std::string::npos) end = dirs.size();
        std::string candidate = dirs.substr(pos, end - pos) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        pos = end + 1;
    }
    return name;  // exec fails and says so
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, const std::filesystem::path& cwd = {}) {
    if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
    const std::string program = find_program(argv[0]);
    const std::string dir = cwd.string();
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        if (!dir.empty() && chdir(dir.c_str()) != 0) _exit(126);
        execv(program.c_str(), cargv.data());
        static const char msg[] = "exec failed: the program is missing or not executable\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    return pid;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<std::vector<Listener>> parse_ready(const std::string& text, std::string& error) {
    std::vector<Listener> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        std::istringstream words(line);
        std::string proxy, name, addr, extra;
        words >> proxy >> name >> addr;
        auto a = Address::parse(addr);
        if (proxy.empty() || name.empty() || !a || (words >> extra)) {
            error = "bad ready-file line '" + line + "' (want '<proxy> <bind-name or -> <address>')";
            return std::nullopt;
        }
        out.push_back({proxy, name, *a});
    }
    return out;
}

}  // namespace

std::string skjold_binary() {
    const char* env = std::getenv("SKJOLD_BIN");
    return env && *env ? env : SKJOLD_BIN;
}

pid_t spawn_process(const std::vector<std::string>& argv, int out_fd, int err_fd) {
    return spawn(argv, out_fd, err_fd);
}

RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::filesystem::path& cwd) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        throw std::runtime_error("pipe2 failed");
    }
    pid_t pid = spawn(argv, out_pipe[1], err_pipe[1], cwd);
    close(out_pipe[1]);
    close(err_pipe[1]);

    RunResult r;
    std::array<std::string*, 2> sinks{&r.out, &r.err};
    std::array<int, 2> fds{out_pipe[0], err_pipe[0]};
    const auto deadline = Clock::now() + timeout;
    bool timed_out = false;
    while (fds[0] >= 0 || fds[1] >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        if (poll(p, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i] < 0 || p[i].revents == 0) continue;
            char buf[4096];
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    for (int fd : fds) {
        if (fd >= 0) close(fd);
    }
    if (timed_out) kill(pid, SIGKILL);
    // Both pipes are closed: the process has exited or is about to; a grandchild keeping them
    // open is the only way to get here with it alive, and the kill below covers the timeout.
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = timed_out ? -1 : exit_code_of(status);
    if (timed_out) r.err += "\n[harness: killed after " + std::to_string(timeout.count()) + " ms]";
    return r;
}

RunResult run_check(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                    const std::filesystem::path& cwd) {
    std::vector<std::string> argv{skjold_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout, cwd);
}

Skjold Skjold::start(std::vector<std::string> args, std::chrono::milliseconds timeout) {
    return start_program(skjold_binary(), std::move(args), timeout);
}

Skjold Skjold::start_program(const std::string& program, std::vector<std::string> args,
                             std::chrono::milliseconds timeout) {
    std::filesystem::path ready;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--ready-file") ready = args[i + 1];
    }
    REQUIRE_MESSAGE(!ready.empty(), "Skjold::start needs --ready-file PATH among its arguments");
    std::error_code ec;
    std::filesystem::remove(ready, ec);  // a previous run's file in the same directory

    Skjold s;
    s.log_path_ = ready.string() + ".log";
    s.ready_path_ = ready;
    int log_fd = open(s.log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE_MESSAGE(log_fd >= 0, "cannot create " << s.log_path_ << ": " << std::strerror(errno));
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    s.pid_ = spawn(argv, log_fd, log_fd);
    close(log_fd);
    s.pidfd_ = pidfd_open(s.pid_);
    REQUIRE_MESSAGE(s.pidfd_ >= 0, "pidfd_open: " << std::strerror(errno));

    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (std::filesystem::exists(ready, ec)) {
            std::string error;
            auto parsed = parse_ready(read_file(ready), error);
            if (!parsed) {
                auto log = s.log();
                s.log_path_.clear();  // in the message already; the destructor need not print it again
                FAIL(error << "\nskjold's log:\n" << log);
            }
            s.listeners_ = std::move(*parsed);
            return s;
        }
        // The poll is the bounded wait between two looks at the file and notices an exit at once.
        pollfd p{s.pidfd_, POLLIN, 0};
        if (poll(&p, 1, 5) > 0) {
            auto code = s.wait_exit(0ms);
            if (code) {
                std::string why = io_uring_unavailable_reason();
                if (!why.empty()) skip_run(why + "\nskjold's log:\n" + s.log());
                std::string command;
                for (const auto& a : argv) command += " " + a;
                auto log = s.log();
                s.log_path_.clear();
                FAIL("skjold " << describe_exit(*code) << " before writing " << ready << "\ncommand:"
                               << command << "\nskjold's log:\n"
                               << log);
            }
        }
        if (Clock::now() > deadline) {
            kill(s.pid_, SIGKILL);
            s.wait_exit(10s);
            auto log = s.log();
            s.log_path_.clear();
            FAIL("skjold was not ready after " << timeout.count() << " ms (no " << ready
                                               << "); killed it. Its log:\n"
                                               << log);
        }
    }
}

Skjold::Skjold(Skjold&& other) noexcept
    : pid_(other.pid_),
      pidfd_(other.pidfd_),
      exit_code_(other.exit_code_),
      log_path_(std::move(other.log_path_)),
      ready_path_(std::move(other.ready_path_)),
      listeners_(std::move(other.listeners_)) {
    other.pid_ = -1;
    other.pidfd_ = -1;
}

Skjold::~Skjold() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
        FAIL_CHECK("skjold (pid " << pid_ << ") was still running at the end of the test; killed it");
        pid_ = -1;
    }
    if (pidfd_ >= 0) close(pidfd_);
    if (!log_path_.empty() && current_test_failed()) {
        std::cerr << "---- skjold log (" << log_path_.string() << ") ----\n"
                  << log() << "---- end of skjold log ----\n";
    }
}

Address Skjold::listener(std::string_view proxy) const {
    for (const auto& l : listeners_) {
        if (l.proxy == proxy) return l.address;
    }
    FAIL("the ready file lists no listener for proxy '" << std::string(proxy) << "'");
    return {};
}

Address Skjold::listener(std::string_view proxy, std::string_view bind_name) const {
    for (const auto& l : listeners_) {
        if (l.proxy == proxy && l.bind_name == bind_name) return l.address;
    }
    FAIL("the ready file lists no listener '" << std::string(bind_name) << "' for proxy '"
                                              << std::string(proxy) << "'");
    return {};
}

void Skjold::reap(int status) {
    exit_code_ = exit_code_of(status);
    pid_ = -1;
}

bool Skjold::running() { return !wait_exit(0ms).has_value(); }

void Skjold::signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> Skjold::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    if (pid_ <= 0) return std::nullopt;
    pollfd p{pidfd_, POLLIN, 0};
    int n;
    do {
        n = poll(&p, 1, static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return std::nullopt;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) reap(status);
    return exit_code_;
}

int Skjold::stop(std::chrono::milliseconds timeout) {
    if (exit_code_) return *exit_code_;
    signal(SIGTERM);
    if (auto code = wait_exit(timeout)) return *code;
    kill(pid_, SIGKILL);
    wait_exit(10s);
    FAIL_CHECK("skjold did not exit within " << timeout.count() << " ms of SIGTERM; killed it");
    return -1;
}

std::string Skjold::log() const { return read_file(log_path_); }

std::size_t count_of(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

bool Skjold::reload(std::chrono::milliseconds timeout) {
    const std::string before = log();
    const std::size_t ok = count_of(before, "reload ok"), failed = count_of(before, "reload failed");
    signal(SIGHUP);
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const std::string now = log();
        if (count_of(now, "reload failed") > failed) return false;
        if (count_of(now, "reload ok") > ok) {
            std::string error;
            auto parsed = parse_ready(read_file(ready_path_), error);
            REQUIRE_MESSAGE(parsed.has_value(), error);
            listeners_ = std::move(*parsed);
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    MESSAGE("no reload line within " << timeout.count() << " ms");
    return false;
}

}  // namespace skjold::test
