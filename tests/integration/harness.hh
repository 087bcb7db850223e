#pragma once
// The integration-test harness in one include: scratch directories, the skjold process, in-process
// backends, clients, and the glue below (failure tracking, skipping, config text helpers).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "address.hh"
#include "skjold_process.hh"
#include "tcp_client.hh"
#include "tcp_server.hh"
#include "tempdir.hh"

namespace skjold::test {

// True once the running test case has a failed assertion. A doctest listener (harness.cc) keeps it;
// Skjold's destructor uses it to print the process's log only when it can explain a failure.
bool current_test_failed() noexcept;

// Why io_uring cannot be used here ("" when it can): the kernel lacks it, it is disabled
// (kernel.io_uring_disabled, seccomp), or the kernel is older than the features skjold needs.
std::string io_uring_unavailable_reason();

// Ends the whole test executable with 77, which Meson reports as SKIP, after printing why.
[[noreturn]] void skip_run(std::string_view why);

// `text` with every ${KEY} replaced by its value; an unknown ${KEY} throws (a typo in a test config
// must not reach skjold as literal text).
std::string fill(std::string_view text, std::initializer_list<std::pair<std::string_view, std::string>> vars);

// The defaults most tcp tests share: tcp mode and timeouts that end a stuck test in seconds.
inline constexpr std::string_view kTcpDefaults =
    "defaults\n"
    "    mode tcp\n"
    "    timeout connect 1s\n"
    "    timeout client 10s\n"
    "    timeout server 10s\n";

// Writes `config` to dir/skjold.cfg and starts skjold on it with --ready-file dir/ready.
Skjold start_with_config(const Tempdir& dir, std::string_view config);

// What a client (from `from_ip` when given) reads until EOF: the name an answer server wrote, or
// "(connect failed: REASON)".
std::string who_answers(const Address& at, std::string_view from_ip = {});

// `n` pseudo-random bytes (all 256 values occur) from a fixed seed, so a failure reproduces.
std::string random_bytes(std::size_t n, std::uint64_t seed);

// SKJOLD_SOURCE_ROOT / SKJOLD_TESTDATA from the test environment (Meson's test_env); the paths
// relative to this file's checkout when run by hand.
std::filesystem::path source_root();
std::filesystem::path testdata_dir();

}  // namespace skjold::test
