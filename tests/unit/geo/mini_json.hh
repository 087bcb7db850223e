#pragma once
// A small JSON reader for the unit tests: enough for MaxMind's source-data files (objects, arrays,
// strings, numbers, true/false/null). Throws std::runtime_error on malformed input. \uXXXX escapes
// are decoded to UTF-8 (surrogate pairs joined).

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skjold::test {

struct Json {
    enum class Kind : std::uint8_t { null, boolean, number, string, array, object } kind = Kind::null;
    bool b = false;
    double num = 0;
    std::string str;                                   // string; a number's text too
    std::vector<Json> items;                           // array
    // object, in file order: keys[i] names values[i] (two vectors, not a vector of pairs: a pair
    // holding Json would need Json complete inside its own definition, which clang refuses)
    std::vector<std::string> keys;
    std::vector<Json> values;

    // The member `key` of an object, or null when absent (or this is not an object). Defined
    // below the class: clang needs Json complete before it instantiates the pair.
    const Json* get(std::string_view key) const;
    // Follows a path of object keys; null when any step is missing.
    const Json* at(std::initializer_list<std::string_view> path) const {
        const Json* j = this;
        for (auto k : path)
            if (!(j = j->get(k))) return nullptr;
        return j;
    }

    static Json parse(std::string_view text);   // defined below the class, as get()

private:
    struct Reader {
        std::string_view s;
        std::size_t i = 0;
        int depth = 0;

        [[noreturn]] void fail(const char* what) const {
            throw std::runtime_error(std::string("JSON: ") + what + " at offset " + std::to_string(i));
        }
        void blanks() {
            while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
        }
        bool eat(char c) {
            blanks();
            if (i < s.size() && s[i] == c) {
                ++i;
                return true;
            }
            return false;
        }
        void expect(char c) {
            if (!eat(c)) fail("unexpected character");
        }
        bool word(std::string_view w) {
            if (s.substr(i, w.size()) != w) return false;
            i += w.size();
            return true;
        }
        static void utf8(std::string& out, std::uint32_t cp) {
            if (cp < 0x80) {
                out += static_cast<char>(cp);
            } else if (cp < 0x800) {
                out += static_cast<char>(0xC0 | (cp >> 6));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out += static_cast<char>(0xE0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
                out += static_cast<char>(0xF0 | (cp >> 18));
                out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            }
        }
        std::uint32_t hex4() {
            if (i + 4 > s.size()) fail("short \\u escape");
            std::uint32_t v = 0;
            for (int k = 0; k < 4; ++k) {
                char c = s[i++];
                v <<= 4;
                if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
                else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
                else fail("bad \\u escape");
            }
            return v;
        }
        std::string string() {
            expect('"');
            std::string out;
            while (true) {
                if (i >= s.size()) fail("unterminated string");
                char c = s[i++];
                if (c == '"') return out;
                if (c != '\\') {
                    out += c;
                    continue;
                }
                if (i >= s.size()) fail("unterminated escape");
                switch (char e = s[i++]) {
                case '"': case '\\': case '/': out += e; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    std::uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && word("\\u")) cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4() - 0xDC00);
                    utf8(out, cp);
                    break;
                }
                default: fail("bad escape");
                }
            }
        }
        Json value() {
            if (++depth > 64) fail("nested too deeply");
            blanks();
            if (i >= s.size()) fail("unexpected end");
            Json j;
            char c = s[i];
            if (c == '{') {
                ++i;
                j.kind = Kind::object;
                if (!eat('}')) {
                    do {
                        blanks();
                        std::string k = string();
                        expect(':');
                        j.keys.push_back(std::move(k));
                        j.values.push_back(value());
                    } while (eat(','));
                    expect('}');
                }
            } else if (c == '[') {
                ++i;
                j.kind = Kind::array;
                if (!eat(']')) {
                    do j.items.push_back(value());
                    while (eat(','));
                    expect(']');
                }
            } else if (c == '"') {
                j.kind = Kind::string;
                j.str = string();
            } else if (word("true")) {
                j.kind = Kind::boolean;
                j.b = true;
            } else if (word("false")) {
                j.kind = Kind::boolean;
            } else if (word("null")) {
                j.kind = Kind::null;
            } else {
                std::size_t b = i;
                while (i < s.size() && std::string_view("+-0123456789.eE").find(s[i]) != std::string_view::npos) ++i;
                if (b == i) fail("unexpected character");
                j.kind = Kind::number;
                j.str = std::string(s.substr(b, i - b));
                j.num = std::stod(j.str);
            }
            --depth;
            return j;
        }
    };
};

inline const Json* Json::get(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i] == key) return &values[i];
    return nullptr;
}

inline Json Json::parse(std::string_view text) {
    Reader r{text};
    Json j = r.value();
    r.blanks();
    if (r.i != text.size()) r.fail("trailing characters");
    return j;
}

}  // namespace skjold::test
