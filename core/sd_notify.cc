#include "core/sd_notify.hh"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace skjold::core {

bool sd_notify(std::string_view state) noexcept {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return true;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::size_t len = std::strlen(path);
    if (len >= sizeof sa.sun_path) return false;
    std::memcpy(sa.sun_path, path, len);
    // '@' names an abstract socket: its first byte is NUL on the wire.
    if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
    auto salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sa), salen);
    close(fd);
    return n == static_cast<ssize_t>(state.size());
}

bool sd_notify_reloading() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char buf[96];
    int n = std::snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
                          static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL);
    return sd_notify(std::string_view(buf, static_cast<std::size_t>(n)));
}

}  // namespace skjold::core
