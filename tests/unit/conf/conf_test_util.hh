#pragma once
// Helpers for the conf/ unit tests: load a configuration text, show its diagnostics, and a
// temporary directory for files a configuration refers to.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "conf/loader.hh"

namespace skjold::conf::test {

inline LoadResult load(std::string_view text) { return load_string(text, "t.cfg"); }

inline std::string all(const std::vector<Diagnostic>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.str() + "\n";
    return s;
}

// The Snapshot of a configuration that must load; fails the test with every error otherwise.
// The reference lives as long as r: a temporary LoadResult would leave it dangling, hence the
// deleted overload.
const Snapshot& ok(LoadResult&& r) = delete;
inline const Snapshot& ok(const LoadResult& r) {
    INFO("errors:\n" << all(r.errors));
    REQUIRE(r.errors.empty());
    REQUIRE(r.snapshot != nullptr);
    return *r.snapshot;
}

// The only error of a configuration that must fail.
inline std::string one_error(const LoadResult& r) {
    INFO("errors:\n" << all(r.errors));
    CHECK(r.snapshot == nullptr);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0].str();
}

inline bool has_warning(const LoadResult& r, std::string_view text) {
    for (const auto& w : r.warnings)
        if (w.str().find(text) != std::string::npos) return true;
    return false;
}

inline bool has_feature(const Snapshot& s, std::string_view feature, int line) {
    for (const auto& f : s.feature_uses)
        if (f.feature == feature && f.loc.line == line) return true;
    return false;
}

inline const Proxy& proxy(const Snapshot& s, std::string_view name) {
    int i = s.find_proxy(name);
    REQUIRE_MESSAGE(i >= 0, "no proxy " << name);
    return s.proxies[static_cast<std::size_t>(i)];
}

class Tempdir {
public:
    Tempdir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "skjold-conf-XXXXXX").string();
        char* p = ::mkdtemp(tmpl.data());
        REQUIRE(p != nullptr);
        path_ = p;
    }
    ~Tempdir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    Tempdir(const Tempdir&) = delete;
    Tempdir& operator=(const Tempdir&) = delete;

    std::string write(const std::string& name, std::string_view content) const {
        auto p = path_ / name;
        std::ofstream out(p, std::ios::binary);
        out << content;
        return p.string();
    }
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace skjold::conf::test
