#pragma once
// A file with the given content in a fresh temporary directory, removed at the end of the test.
// Shared by the unit tests that feed pattern files to the parsers.

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <unistd.h>

namespace skjold::test {

struct TempFile {
    std::string dir, path;
    explicit TempFile(const std::string& content, const std::string& name = "patterns.txt") {
        char tmpl[] = "/tmp/skjold-unit-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/" + name;
        std::ofstream(path, std::ios::binary) << content;
    }
    ~TempFile() {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

}  // namespace skjold::test
