#pragma once
// systemd's readiness protocol (Type=notify), spoken directly: one datagram to $NOTIFY_SOCKET
// per state change ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."). No libsystemd.
// Control thread only. Without NOTIFY_SOCKET (not started by systemd) every call does nothing.

#include <string_view>

namespace skjold::core {

// Sends `state` (newline-separated KEY=VALUE assignments). Returns false only when
// NOTIFY_SOCKET is set and the datagram could not be sent; the caller logs it.
bool sd_notify(std::string_view state) noexcept;

// RELOADING=1 must carry MONOTONIC_USEC (systemd >= 253 checks it for Type=notify-reload).
bool sd_notify_reloading() noexcept;

}  // namespace skjold::core
