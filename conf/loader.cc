#include "conf/loader.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

#include "conf/lexer.hh"
#include "conf/parser.hh"

namespace skjold::conf {

namespace {

void feed(Parser& parser, std::string_view text, const std::string& name) {
    Lexer lexer(name);
    std::vector<ConfLine> lines;
    std::vector<Diagnostic> errs;
    lexer.lex(text, lines, errs);
    parser.begin_file(name);
    // Keep diagnostics in file order: a lexer error on line 7 before a parser error on line 9.
    std::size_t e = 0;
    for (const auto& l : lines) {
        while (e < errs.size() && errs[e].line < l.loc.line) parser.errors().push_back(errs[e++]);
        parser.line(l);
    }
    while (e < errs.size()) parser.errors().push_back(errs[e++]);
    parser.end_file();
}

LoadResult finish(Parser& parser) {
    LoadResult r;
    r.snapshot = parser.finish();
    r.errors = std::move(parser.errors());
    r.warnings = std::move(parser.warnings());
    return r;
}

}  // namespace

LoadResult load_files(std::span<const std::string> paths) {
    Parser parser;
    for (const auto& path : paths) {
        struct stat st{};
        std::ifstream in(path, std::ios::binary);
        if (!in || ::stat(path.c_str(), &st) != 0) {
            int err = errno;
            parser.errors().push_back(Diagnostic{path, 0, std::string("cannot open: ") + std::strerror(err ? err : ENOENT)});
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            parser.errors().push_back(Diagnostic{path, 0, "cannot open: Is a directory"});
            continue;
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) {
            parser.errors().push_back(Diagnostic{path, 0, "cannot read: " + std::string(std::strerror(errno))});
            continue;
        }
        feed(parser, text, path);
    }
    if (paths.empty()) parser.errors().push_back(Diagnostic{"", 0, "no configuration file given (-f FILE)"});
    return finish(parser);
}

LoadResult load_string(std::string_view text, std::string_view name) {
    Parser parser;
    feed(parser, text, std::string(name));
    return finish(parser);
}

}  // namespace skjold::conf
