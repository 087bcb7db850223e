#pragma once
// The skjold binary as a test drives it: a child process started with fork/exec, told where to write
// its ready file, stopped with SIGTERM. Owner: the test thread that called start(); not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hh"

namespace skjold::test {

using namespace std::chrono_literals;

// The binary under test: $SKJOLD_BIN if set, else the path Meson compiled in.
std::string skjold_binary();

struct RunResult {
    int exit_code = -1;  // the exit status; 128+N when killed by signal N; -1 when it timed out
    std::string out;
    std::string err;
};

// Runs argv[0] (a path, or a name looked up in $PATH) with argv to completion in directory `cwd`
// (default: the current one), capturing stdout and stderr; killed after `timeout`.
RunResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 10s,
                      const std::filesystem::path& cwd = {});
// Starts argv[0] (a path, or a name looked up in $PATH) with argv, stdin from /dev/null, stdout and
// stderr on the given descriptors; it dies with the test process. The caller reaps it.
pid_t spawn_process(const std::vector<std::string>& argv, int out_fd, int err_fd);

// Runs skjold with `args` (e.g. {"-c", "-f", cfg}) to completion.
RunResult run_check(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 10s,
                    const std::filesystem::path& cwd = {});

// One line of the ready file: "<proxy> <bind-name or -> <address>".
struct Listener {
    std::string proxy;
    std::string bind_name;  // "-" when the bind has no name
    Address address;
};

class Skjold {
public:
    // Starts skjold with `args`, which must contain "--ready-file PATH"; its stdout and stderr go to
    // PATH.log. Returns once PATH exists (every listener is up). FAILs the test, with the captured
    // log, when the process exits first or `timeout` passes. Exits the whole run with 77 (Meson SKIP)
    // when skjold could not start because the kernel lacks io_uring.
    static Skjold start(std::vector<std::string> args, std::chrono::milliseconds timeout = 10s);
    // The same with another program in skjold's place (the harness's own tests use a fake).
    static Skjold start_program(const std::string& program, std::vector<std::string> args,
                                std::chrono::milliseconds timeout = 10s);

    Skjold(Skjold&& other) noexcept;
    Skjold& operator=(Skjold&&) = delete;
    Skjold(const Skjold&) = delete;
    Skjold& operator=(const Skjold&) = delete;
    // Kills a process that is still running (SIGKILL, by PID) and FAILs the test; prints the log
    // when the test has failed.
    ~Skjold();

    // The first listener of `proxy` / the listener of `proxy` whose bind is named `bind_name`.
    // FAILs the test when there is none.
    Address listener(std::string_view proxy) const;
    Address listener(std::string_view proxy, std::string_view bind_name) const;
    const std::vector<Listener>& listeners() const noexcept { return listeners_; }

    pid_t pid() const noexcept { return pid_; }
    bool running();
    void signal(int sig);  // sends `sig` and returns at once
    // The exit code (as RunResult::exit_code) once the process has exited; nullopt if it is still
    // running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // SIGTERM, then wait up to `timeout` for the exit. Returns the exit code; when the process does not
    // exit in time it is killed, the test FAILs, and -1 is returned.
    int stop(std::chrono::milliseconds timeout = 10s);

    // SIGHUP, then waits for skjold's "reload ok" / "reload failed" line (a new one) and reads the
    // ready file again (listeners may have changed). True when the reload was adopted; false when
    // it failed or no line came within `timeout`.
    bool reload(std::chrono::milliseconds timeout = 10s);

    std::string log() const;  // everything skjold wrote to stdout and stderr so far
    const std::filesystem::path& log_path() const noexcept { return log_path_; }

private:
    Skjold() = default;
    void reap(int status);

    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::optional<int> exit_code_;
    std::filesystem::path log_path_;
    std::filesystem::path ready_path_;
    std::vector<Listener> listeners_;
};

// How many times `what` occurs in `text` (e.g. "reload ok" lines in Skjold::log()).
std::size_t count_of(const std::string& text, std::string_view what);

}  // namespace skjold::test
