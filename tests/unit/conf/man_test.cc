// skjold.cfg(5) documents every keyword of the table, every bind and server option, and every
// fetch and converter of the condition engine: each needs a ".B name" header line (after
// removing font escapes and turning "\-" into "-"), followed by a space, "(" or the line's end.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "conf/fetch_registry.hh"
#include "conf/keywords.hh"

using namespace skjold::conf;

namespace {

std::vector<std::string> header_lines() {
    const char* root = std::getenv("SKJOLD_SOURCE_ROOT");
    REQUIRE_MESSAGE(root != nullptr, "SKJOLD_SOURCE_ROOT is not set (run through meson test)");
    std::string path = std::string(root) + "/man/skjold.cfg.5";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(".B ")) continue;
        std::string clean;
        for (std::size_t i = 0; i < line.size(); ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                char n = line[i + 1];
                if (n == 'f' && i + 2 < line.size()) { i += 2; continue; }   // \fB \fI \fR \fP
                if (n == '-') { clean += '-'; ++i; continue; }
                if (n == 'e') { clean += '\\'; ++i; continue; }
            }
            clean += line[i];
        }
        out.push_back(clean.substr(3));
    }
    return out;
}

// The entries of the reference sections: a ".TP" line followed by ".B name ...". Each must
// name something the tables know, so the page cannot document a keyword skjold lacks.
std::vector<std::string> entry_lines() {
    const char* root = std::getenv("SKJOLD_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    std::ifstream in(std::string(root) + "/man/skjold.cfg.5");
    REQUIRE(in.good());
    static const std::vector<std::string> kSections = {
        "GLOBAL", "General", "Logging", "Listeners and routing", "Timeouts", "Backends and servers",
        "Health checks", "HTTP", "BIND OPTIONS", "SERVER OPTIONS", "Fetches", "Converters"};
    std::vector<std::string> out;
    std::string section, prev;
    for (std::string line; std::getline(in, line); prev = line) {
        if (line.starts_with(".SH ") || line.starts_with(".SS ")) {
            section = line.substr(4);
            continue;
        }
        if (!line.starts_with(".B ") || !prev.starts_with(".TP")) continue;
        if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) continue;
        std::string clean;
        for (std::size_t i = 3; i < line.size(); ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                char n = line[i + 1];
                if (n == 'f' && i + 2 < line.size()) { i += 2; continue; }
                if (n == '-') { clean += '-'; ++i; continue; }
            }
            clean += line[i];
        }
        out.push_back(clean);
    }
    return out;
}

bool documented(const std::vector<std::string>& headers, std::string_view name) {
    for (const auto& h : headers) {
        if (!h.starts_with(name)) continue;
        if (h.size() == name.size() || h[name.size()] == ' ' || h[name.size()] == '(') return true;
    }
    return false;
}

}  // namespace

TEST_CASE("the man page documents every keyword of the table") {
    auto headers = header_lines();
    std::string missing;
    for (const auto& k : keyword_table())
        if (!documented(headers, k.name)) missing += " '" + std::string(k.name) + "'";
    CHECK_MESSAGE(missing.empty(), "skjold.cfg.5 does not document:" << missing);
}

TEST_CASE("the man page documents every bind option and server option") {
    auto headers = header_lines();
    std::string missing;
    for (const auto& o : bind_option_table())
        if (!documented(headers, o.name)) missing += " bind '" + std::string(o.name) + "'";
    for (const auto& o : server_option_table())
        if (!documented(headers, o.name)) missing += " server '" + std::string(o.name) + "'";
    CHECK_MESSAGE(missing.empty(), "skjold.cfg.5 does not document:" << missing);
}

TEST_CASE("the man page documents every fetch and converter of the condition engine") {
    auto headers = header_lines();
    std::string missing;
    for (const auto& f : fetch_table())
        if (!documented(headers, f.keyword)) missing += " fetch '" + std::string(f.keyword) + "'";
    for (const auto& c : converter_table())
        if (!documented(headers, c.keyword)) missing += " converter '" + std::string(c.keyword) + "'";
    CHECK_MESSAGE(missing.empty(), "skjold.cfg.5 does not document:" << missing);
}

TEST_CASE("the documentation check notices a keyword that is missing") {
    std::vector<std::string> headers{"timeout client \\fITIME\\fR", "hdr(NAME)", "server NAME"};
    CHECK(documented(headers, "timeout client"));
    CHECK(documented(headers, "hdr"));
    CHECK(documented(headers, "server"));
    CHECK(!documented(headers, "timeout server"));
    CHECK(!documented(headers, "timeout client-fin"));
    CHECK(!documented(headers, "serve"));
}

TEST_CASE("every entry of the man page's reference sections is a keyword, option, fetch or converter skjold has") {
    auto entries = entry_lines();
    REQUIRE(entries.size() > 100);
    std::vector<std::string> names;
    for (const auto& k : keyword_table()) names.emplace_back(k.name);
    for (const auto& o : bind_option_table()) names.emplace_back(o.name);
    for (const auto& o : server_option_table()) names.emplace_back(o.name);
    for (const auto& f : fetch_table()) names.emplace_back(f.keyword);
    for (const auto& c : converter_table()) names.emplace_back(c.keyword);
    std::string unknown;
    for (const auto& e : entries) {
        bool known = false;
        for (const auto& n : names)
            if (documented({e}, n)) known = true;
        if (!known) unknown += " '" + e + "'";
    }
    CHECK_MESSAGE(unknown.empty(), "skjold.cfg.5 documents what the tables do not have:" << unknown);
}
