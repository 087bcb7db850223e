#include "harness.hh"

#include <doctest/doctest.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>

namespace skjold::test {
namespace {

std::atomic<bool> g_test_failed{false};

// Listens to doctest's results only to know whether the current test case has failed.
struct FailureListener : doctest::IReporter {
    explicit FailureListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { g_test_failed = false; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override { g_test_failed = true; }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& ad) override {
        if (ad.m_failed) g_test_failed = true;
    }
    void log_message(const doctest::MessageData& md) override {
        if ((md.m_severity & doctest::assertType::is_warn) == 0) g_test_failed = true;  // FAIL, FAIL_CHECK
    }
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace
}  // namespace skjold::test

REGISTER_LISTENER("skjold-failure-tracker", 1, skjold::test::FailureListener);

namespace skjold::test {

bool current_test_failed() noexcept { return g_test_failed.load(); }

std::string io_uring_unavailable_reason() {
    io_uring_params params{};
    long fd = ::syscall(SYS_io_uring_setup, 4, &params);
    if (fd < 0) {
        int e = errno;
        if (e == ENOSYS) return "this kernel has no io_uring (io_uring_setup: ENOSYS)";
        if (e == EPERM || e == EACCES) {
            return std::string("io_uring is disabled here (io_uring_setup: ") + std::strerror(e) +
                   "; see sysctl kernel.io_uring_disabled or the container's seccomp profile)";
        }
        return std::string("io_uring_setup failed: ") + std::strerror(e);
    }
    ::close(static_cast<int>(fd));
    // Multishot accept and registered provided-buffer rings arrived in Linux 5.19.
    utsname u{};
    int major = 0, minor = 0;
    if (uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
        (major < 5 || (major == 5 && minor < 19))) {
        return std::string("kernel ") + u.release + " is older than 5.19 (multishot accept, buffer rings)";
    }
    return {};
}

void skip_run(std::string_view why) {
    std::cout << "SKIP: " << why << std::endl;
    std::cerr << "SKIP: " << why << std::endl;
    std::fflush(nullptr);
    std::_Exit(77);
}

std::string fill(std::string_view text, std::initializer_list<std::pair<std::string_view, std::string>> vars) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        auto open = text.find("${", pos);
        if (open == std::string_view::npos) break;
        auto close = text.find('}', open);
        if (close == std::string_view::npos) break;
        out.append(text.substr(pos, open - pos));
        auto key = text.substr(open + 2, close - open - 2);
        bool found = false;
        for (const auto& [k, v] : vars) {
            if (k == key) {
                out += v;
                found = true;
                break;
            }
        }
        if (!found) throw std::invalid_argument("fill: no value for ${" + std::string(key) + "}");
        pos = close + 1;
    }
    out.append(text.substr(pos));
    return out;
}

Skjold start_with_config(const Tempdir& dir, std::string_view config) {
    auto cfg = dir.write("skjold.cfg", config);
    return Skjold::start({"-f", cfg, "--ready-file", dir / "ready"});
}

std::string who_answers(const Address& at, std::string_view from_ip) {
    auto conn = Connection::open(at, from_ip);
    if (!conn.connected()) return "(connect failed: " + conn.error() + ")";
    return conn.recv_all(5s).data;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t v = gen();
        for (std::size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<char>(v >> (8 * b));
    }
    return out;
}

std::filesystem::path source_root() {
    const char* env = std::getenv("SKJOLD_SOURCE_ROOT");
    if (env && *env) return env;
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::filesystem::path testdata_dir() {
    const char* env = std::getenv("SKJOLD_TESTDATA");
    if (env && *env) return env;
    return source_root() / ".." / "shared" / "testdata";
}

}  // namespace skjold::test
