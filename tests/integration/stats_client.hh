#pragma once
// Client side of the stats socket tests: HAProxy's CLI over a unix stream socket, and `show stat`
// CSV read both by header name and by position. Owner: the test thread; every read has a deadline.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace skjold::test {

using namespace std::chrono_literals;

// One non-interactive exchange: connects to the unix socket `path`, sends `line` and a newline,
// and returns everything read until the server closes ("(connect failed: ...)" otherwise).
std::string stats_command(const std::filesystem::path& path, std::string_view line,
                          std::chrono::milliseconds timeout = 5s);

// An open CLI connection, for interactive mode and timeouts.
class StatsConnection {
public:
    explicit StatsConnection(const std::filesystem::path& path);
    ~StatsConnection();
    StatsConnection(const StatsConnection&) = delete;
    StatsConnection& operator=(const StatsConnection&) = delete;

    bool connected() const noexcept { return fd_ >= 0; }
    bool send_line(std::string_view line);
    // Reads until the data read so far ends with `suffix`, EOF or the timeout; returns it.
    std::string read_until(std::string_view suffix, std::chrono::milliseconds timeout = 5s);
    // True once the server has closed the connection (EOF seen, or seen within `timeout`).
    bool wait_closed(std::chrono::milliseconds timeout);
    bool eof() const noexcept { return eof_; }

private:
    int fd_ = -1;
    bool eof_ = false;
};

// `show stat` output: the header's field names and every row.
struct StatTable {
    std::vector<std::string> names;                 // "pxname", "svname", ... (without "# ")
    std::vector<std::vector<std::string>> rows;

    int column(std::string_view name) const;        // -1 when absent
    // The row of pxname/svname, or nullptr.
    const std::vector<std::string>* row(std::string_view px, std::string_view sv) const;
    // A field of the pxname/svname row by header name ("" when absent).
    std::string get(std::string_view px, std::string_view sv, std::string_view field) const;
};
StatTable parse_stat(std::string_view csv);

// `show info` as name -> value.
std::map<std::string, std::string> parse_info(std::string_view text);

}  // namespace skjold::test
