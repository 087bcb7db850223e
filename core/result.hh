#pragma once
// A subset of std::expected's API (g++ 12 has none usable), so it can be swapped later.
// Owner: everyone. Data path code returns Result<T>, never throws.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace skjold::core {

enum class Errc : std::uint8_t {
    ok = 0,
    invalid_argument,   // bad input (config word, malformed bytes)
    not_found,
    io,                 // a syscall failed; see sys_errno
    timeout,
    refused,
    reset,
    closed,
    no_memory,
    no_buffers,
    limit,              // maxconn, queue, size
    unsupported,
    internal,
};

// Who failed: decides 400 vs 502/504 and whether a retry is allowed.
enum class Side : std::uint8_t { internal, client, server };

struct Error {
    Errc code = Errc::internal;
    Side side = Side::internal;
    int sys_errno = 0;
    std::string detail{};
};

const char* errc_name(Errc c) noexcept;
std::string describe(const Error& e);   // "detail: strerror(errno)"

template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

inline Unexpected<Error> fail(Errc c, std::string detail = {}, int sys_errno = 0, Side side = Side::internal) {
    return Unexpected<Error>{Error{c, side, sys_errno, std::move(detail)}};
}

template <class T, class E = Error>
class Result {
    std::variant<T, E> v_;
public:
    Result(const T& v) : v_(std::in_place_index<0>, v) {}
    Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
    template <class G>
    Result(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    E& error() & { return std::get<1>(v_); }
    const E& error() const& { return std::get<1>(v_); }
};

template <class E>
class Result<void, E> {
    std::variant<std::monostate, E> v_;
public:
    Result() = default;
    template <class G>
    Result(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}
    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {}
    E& error() & { return std::get<1>(v_); }
    const E& error() const& { return std::get<1>(v_); }
};

}  // namespace skjold::core
