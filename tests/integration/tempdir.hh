#pragma once
// A private scratch directory per test. Removed with everything in it when the test ends, unless
// SKJOLD_KEEP_TMP is set (then its path is printed, to look at configs and logs after a failure).

#include <filesystem>
#include <string_view>

namespace skjold::test {

class Tempdir {
public:
    Tempdir();  // mkdtemp("$TMPDIR/skjold-it-XXXXXX"); throws when that fails
    ~Tempdir();
    Tempdir(const Tempdir&) = delete;
    Tempdir& operator=(const Tempdir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    // Writes `text` to dir/name (created or truncated) and returns that path; throws on failure.
    std::filesystem::path write(std::string_view name, std::string_view text) const;

private:
    std::filesystem::path path_;
};

}  // namespace skjold::test
