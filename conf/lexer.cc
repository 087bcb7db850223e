#include "conf/lexer.hh"

#include <cstdlib>

namespace skjold::conf {

namespace {

bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_section_keyword(const std::string& w) {
    return w == "global" || w == "defaults" || w == "frontend" || w == "backend" || w == "listen";
}

}  // namespace

Lexer::Lexer(std::string file, EnvLookup env) : file_(std::move(file)), env_(std::move(env)) {}

std::optional<std::string> Lexer::lookup(const std::string& name, int lineno) const {
    if (name == ".FILE") return file_;
    if (name == ".LINE") return std::to_string(lineno);
    if (name == ".SECTION") return section_;
    if (env_) return env_(name);
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
}

std::optional<std::string> Lexer::split(std::string_view line, int lineno, std::vector<std::string>& out) {
    enum class Quote { none, single, dbl } quote = Quote::none;
    std::string cur;
    bool in_word = false;          // a word has started (quotes alone start an empty word)
    std::vector<std::string> words;
    const std::size_t n = line.size();
    auto at = [&](std::size_t i) { return "at position " + std::to_string(i + 1); };

    std::size_t i = 0;
    for (; i < n; ++i) {
        char c = line[i];
        if (quote == Quote::single) {
            if (c == '\'') quote = Quote::none;
            else cur += c;
            continue;
        }
        if (c == '\\') {
            in_word = true;
            if (i + 1 >= n) { cur += '\\'; continue; }   // trailing backslash stays (HAProxy 2.6)
            char e = line[i + 1];
            switch (e) {
            case ' ': case '\t': case '#': case '\\': case '\'': case '"':
                cur += e; ++i; break;
            case 'n': cur += '\n'; ++i; break;
            case 'r': cur += '\r'; ++i; break;
            case 't': cur += '\t'; ++i; break;
            case 'x': {
                int hi = i + 2 < n ? hex_value(line[i + 2]) : -1;
                int lo = i + 3 < n ? hex_value(line[i + 3]) : -1;
                if (hi < 0 || lo < 0) return "truncated or invalid hexadecimal sequence " + at(i);
                if (hi == 0 && lo == 0) return "\\x00 (a NUL byte) is not allowed " + at(i);
                cur += static_cast<char>(hi * 16 + lo);
                i += 3;
                break;
            }
            case '$':
                if (quote == Quote::dbl) { cur += '$'; ++i; }
                else cur += '\\';                     // unquoted `\$` stays as written
                break;
            default:
                cur += '\\';                          // `\q` stays `\q`; q is read next
                break;
            }
            continue;
        }
        if (quote == Quote::dbl) {
            if (c == '"') { quote = Quote::none; continue; }
            if (c == '\r') break;
            if (c != '$') { cur += c; continue; }
            // Environment variable.
            std::size_t p = i + 1;
            bool braced = p < n && line[p] == '{';
            if (braced) ++p;
            std::size_t name_start = p;
            if (p < n && line[p] == '.') ++p;
            if (p >= n || !is_name_start(line[p]))
                return "forbidden first char in environment variable name " + at(p);
            while (p < n && is_name_char(line[p])) ++p;
            std::string name(line.substr(name_start, p - name_start));
            std::optional<std::string> def;
            bool spread = false;
            if (braced) {
                std::size_t close = line.find('}', p);
                if (close == std::string_view::npos)
                    return "unmatched brace in environment variable name " + at(i);
                std::string_view rest = line.substr(p, close - p);
                if (rest.empty()) {
                } else if (rest[0] == '-') {
                    def = std::string(rest.substr(1));
                } else if (rest == "[*]") {
                    spread = true;
                } else {
                    return "invalid character in environment variable name " + at(p);
                }
                p = close + 1;
            }
            std::optional<std::string> v = lookup(name, lineno);
            std::string value = v ? *v : def.value_or("");
            if (!spread) {
                cur += value;
            } else {
                // ${NAME[*]}: one word per space-separated element; the first joins the text
                // before it, the last the text after it (as HAProxy does).
                bool first = true;
                std::size_t k = 0;
                while (k < value.size()) {
                    while (k < value.size() && (value[k] == ' ' || value[k] == '\t')) ++k;
                    if (k >= value.size()) break;
                    std::size_t e = k;
                    while (e < value.size() && value[e] != ' ' && value[e] != '\t') ++e;
                    if (!first) { words.push_back(std::move(cur)); cur.clear(); }
                    cur += value.substr(k, e - k);
                    first = false;
                    k = e;
                }
            }
            i = p - 1;
            continue;
        }
        // Outside quotes.
        if (c == ' ' || c == '\t') {
            if (in_word) { words.push_back(std::move(cur)); cur.clear(); in_word = false; }
            continue;
        }
        if (c == '#' || c == '\r' || c == '\n') break;
        if (c == '"') { quote = Quote::dbl; in_word = true; continue; }
        if (c == '\'') { quote = Quote::single; in_word = true; continue; }
        cur += c;
        in_word = true;
    }
    if (quote != Quote::none) return std::string("unmatched quote");
    if (in_word) words.push_back(std::move(cur));
    if (!words.empty() && is_section_keyword(words[0])) section_ = words.size() > 1 ? words[1] : words[0];
    for (auto& w : words) out.push_back(std::move(w));
    return std::nullopt;
}

void Lexer::lex(std::string_view text, std::vector<ConfLine>& lines, std::vector<Diagnostic>& errors) {
    int lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view raw = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++lineno;
        ConfLine cl;
        cl.loc = SourceLoc{file_, lineno};
        if (auto err = split(raw, lineno, cl.words)) {
            errors.push_back(Diagnostic{file_, lineno, *err});
            continue;
        }
        if (!cl.words.empty()) lines.push_back(std::move(cl));
    }
}

}  // namespace skjold::conf
