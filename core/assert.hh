#pragma once
// SKJOLD_CHECK: always on, aborts with a message. SKJOLD_ASSERT: debug builds only.

namespace skjold::core {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg) noexcept;
}

#define SKJOLD_CHECK(expr, msg) \
    do { if (!(expr)) [[unlikely]] ::skjold::core::check_failed(#expr, __FILE__, __LINE__, (msg)); } while (0)

#ifdef NDEBUG
#define SKJOLD_ASSERT(expr) do { (void)sizeof(expr); } while (0)
#else
#define SKJOLD_ASSERT(expr) SKJOLD_CHECK(expr, "assertion")
#endif
