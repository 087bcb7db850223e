#include "tempdir.hh"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace skjold::test {

Tempdir::Tempdir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/skjold-it-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    }
    path_ = templ;
}

Tempdir::~Tempdir() {
    if (std::getenv("SKJOLD_KEEP_TMP") != nullptr) {
        std::cerr << "SKJOLD_KEEP_TMP: kept " << path_ << "\n";
        return;
    }
    std::error_code ec;  // a destructor must not throw; a leftover directory is only untidy
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path Tempdir::write(std::string_view name, std::string_view text) const {
    auto file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return file;
}

}  // namespace skjold::test
