#include "stats_client.hh"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace skjold::test {

namespace {

int connect_unix(const std::filesystem::path& path, std::string& error) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::string p = path.string();
    if (p.size() >= sizeof un.sun_path) {
        close(fd);
        error = "path too long";
        return -1;
    }
    std::memcpy(un.sun_path, p.c_str(), p.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) {
        error = std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

// Reads what is available within `ms`; false on EOF or error (`eof` set), true otherwise.
bool read_some(int fd, std::string& into, int ms, bool& eof) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r <= 0) return r == 0;
    char buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
        eof = true;
        return false;
    }
    into.append(buf, static_cast<std::size_t>(n));
    return true;
}

int remaining_ms(std::chrono::steady_clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::vector<std::string> split_csv_line(std::string_view line) {
    std::vector<std::string> f;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cur += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            f.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    f.push_back(std::move(cur));
    return f;
}

}  // namespace

std::string stats_command(const std::filesystem::path& path, std::string_view line, std::chrono::milliseconds timeout) {
    std::string error;
    int fd = connect_unix(path, error);
    if (fd < 0) return "(connect failed: " + error + ")";
    std::string out;
    if (send_all(fd, std::string(line) + "\n")) {
        auto until = std::chrono::steady_clock::now() + timeout;
        bool eof = false;
        while (!eof && remaining_ms(until) > 0) read_some(fd, out, remaining_ms(until), eof);
    }
    close(fd);
    return out;
}

StatsConnection::StatsConnection(const std::filesystem::path& path) {
    std::string error;
    fd_ = connect_unix(path, error);
}

StatsConnection::~StatsConnection() {
    if (fd_ >= 0) close(fd_);
}

bool StatsConnection::send_line(std::string_view line) { return fd_ >= 0 && send_all(fd_, std::string(line) + "\n"); }

std::string StatsConnection::read_until(std::string_view suffix, std::chrono::milliseconds timeout) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && remaining_ms(until) > 0) {
        if (out.size() >= suffix.size() && out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0) break;
        read_some(fd_, out, remaining_ms(until), eof_);
    }
    return out;
}

bool StatsConnection::wait_closed(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    std::string ignored;
    while (!eof_ && remaining_ms(until) > 0) read_some(fd_, ignored, remaining_ms(until), eof_);
    return eof_;
}

int StatTable::column(std::string_view name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return static_cast<int>(i);
    return -1;
}

const std::vector<std::string>* StatTable::row(std::string_view px, std::string_view sv) const {
    for (const auto& r : rows)
        if (r.size() > 1 && r[0] == px && r[1] == sv) return &r;
    return nullptr;
}

std::string StatTable::get(std::string_view px, std::string_view sv, std::string_view field) const {
    const auto* r = row(px, sv);
    int c = column(field);
    if (r == nullptr || c < 0 || static_cast<std::size_t>(c) >= r->size()) return {};
    return (*r)[static_cast<std::size_t>(c)];
}

StatTable parse_stat(std::string_view csv) {
    StatTable t;
    std::size_t pos = 0;
    while (pos < csv.size()) {
        std::size_t nl = csv.find('\n', pos);
        if (nl == std::string_view::npos) nl = csv.size();
        std::string_view line = csv.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line.substr(0, 2) == "# ") t.names = split_csv_line(line.substr(2));
        else t.rows.push_back(split_csv_line(line));
    }
    return t;
}

std::map<std::string, std::string> parse_info(std::string_view text) {
    std::map<std::string, std::string> m;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        auto c = line.find(": ");
        if (c != std::string_view::npos) m[std::string(line.substr(0, c))] = std::string(line.substr(c + 2));
    }
    return m;
}

}  // namespace skjold::test
