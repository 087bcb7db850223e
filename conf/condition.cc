// ACL and condition compilation, following HAProxy 2.6's acl.c (parse_acl_expr, parse_acl,
// parse_acl_cond, find_acl_default) and pattern.c (pat_parse_int, pat_parse_ip); the fetch
// keyword table is conf/fetch_registry.cc, the expression syntax conf/acl_expr_parse.cc.
// Behaviour checked against the installed HAProxy 2.6.12 (`haproxy -c`, `get acl`):
//   - flags come first, any word starting with '-' is a flag until `--` or the first value;
//     `-m` after `-f` is an error; `-i` and `-n` apply to everything (HAProxy applies them to the
//     -f files that follow them and to inline values: skjold applies -i to the whole line);
//   - integer values: `eq|lt|le|gt|ge` change the operator for the values that follow; a value
//     with ':' or '-' is a range ("10:20", "10-20", ":5", "5:", and "-5" = ":5") whatever the
//     operator; `ne` is skjold's (CONFIG.md lists it): HAProxy 2.6 accepts the word but then
//     reads `ne 1` as `eq 1`, skjold reads it as "not equal";
//   - boolean fetches (ssl_fc, always_true, srv_is_up) ignore their values, as HAProxy does;
//   - with converters, the match method comes from the last converter's output type, not from
//     the keyword: `hdr_sub(User-Agent),lower curl` is an exact string match (HAProxy does that);
//   - the same ACL name on several lines: the lines are ORed;
//   - a condition names ACLs defined before it, then HAProxy's predefined ones (TRUE, FALSE,
//     LOCALHOST, METH_*, HTTP_URL_SLASH, HTTP_URL_STAR), else "no such ACL : 'NAME'".
#include "conf/condition.hh"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <map>

#include "conf/acl_expr_parse.hh"
#include "conf/fetch_registry.hh"
#include "geo/map_file.hh"
#include "geo/mmdb.hh"
#include "geo/pattern_file.hh"

namespace skjold::conf {

namespace {

using Error = std::optional<std::string>;

bool valid_acl_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '_' || c == '-';
}

// HAProxy's strl2llrc(): decimal digits only, no sign, no overflow.
std::optional<std::int64_t> parse_digits(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || s[0] == '-') return std::nullopt;
    return v;
}

// pat_parse_int(): "N", "N:M", "N-M", ":M", "M:", "-M".
Error parse_int_pattern(std::string_view text, IntPattern& out) {
    auto range_error = [&] { return "'" + std::string(text) + "' is not a valid number range"; };
    if (text.empty()) return range_error();
    auto sep = text.find_first_of(":-");
    if (sep == std::string_view::npos) {
        auto v = parse_digits(text);
        if (!v) return "'" + std::string(text) + "' is not a number";
        out = IntPattern{IntOp::eq, *v, *v};
        return std::nullopt;
    }
    if (sep == 0 && text.size() > 1) {
        auto v = parse_digits(text.substr(1));
        if (!v) return range_error();
        out = IntPattern{IntOp::le, *v, *v};
        return std::nullopt;
    }
    if (sep == text.size() - 1) {
        auto v = parse_digits(text.substr(0, sep));
        if (!v) return range_error();
        out = IntPattern{IntOp::ge, *v, *v};
        return std::nullopt;
    }
    auto lo = parse_digits(text.substr(0, sep)), hi = parse_digits(text.substr(sep + 1));
    if (!lo || !hi || *lo > *hi) return range_error();
    out = IntPattern{IntOp::eq, *lo, *hi};
    return std::nullopt;
}

std::optional<IntOp> parse_int_operator(std::string_view w) {
    if (w == "eq") return IntOp::eq;
    if (w == "ne") return IntOp::ne;
    if (w == "lt") return IntOp::lt;
    if (w == "le") return IntOp::le;
    if (w == "gt") return IntOp::gt;
    if (w == "ge") return IntOp::ge;
    return std::nullopt;
}

// -m NAME (pat_match_names in pattern.c).
std::optional<MatchMethod> parse_match_name(std::string_view n) {
    static constexpr std::pair<std::string_view, MatchMethod> kNames[] = {
        {"found", MatchMethod::found}, {"bool", MatchMethod::boolean}, {"int", MatchMethod::integer},
        {"ip", MatchMethod::ip},       {"str", MatchMethod::str},      {"beg", MatchMethod::beg},
        {"end", MatchMethod::end},     {"sub", MatchMethod::sub},      {"dom", MatchMethod::dom},
        {"dir", MatchMethod::dir},     {"len", MatchMethod::len},
    };
    for (const auto& [name, m] : kNames)
        if (name == n) return m;
    return std::nullopt;
}

bool is_int_method(MatchMethod m) { return m == MatchMethod::integer || m == MatchMethod::len; }

// The order proxy/acl_eval.cc's binary search expects: bytes compared unsigned, ASCII case folded.
int fold_compare(std::string_view a, std::string_view b) {
    auto fold = [](char c) { return static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); };
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char ca = fold(a[i]), cb = fold(b[i]);
        if (ca != cb) return ca < cb ? -1 : 1;
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

std::string join_errors(const std::vector<std::string>& errs) {
    constexpr std::size_t kShown = 10;
    std::string out;
    for (std::size_t i = 0; i < errs.size() && i < kShown; ++i) {
        if (i) out += "; ";
        out += errs[i];
    }
    if (errs.size() > kShown) out += "; and " + std::to_string(errs.size() - kShown) + " more malformed lines";
    return out;
}

Error add_value(AclExpr& e, std::string_view v, IntOp& op) {
    if (e.method == MatchMethod::found || e.method == MatchMethod::boolean) return std::nullopt;   // ignored
    if (is_int_method(e.method)) {
        if (auto o = parse_int_operator(v)) {
            op = *o;
            return std::nullopt;
        }
        IntPattern p;
        if (op == IntOp::eq || v.find_first_of(":-") != std::string_view::npos) {
            if (auto err = parse_int_pattern(v, p)) return err;
        } else {
            auto n = parse_digits(v);
            if (!n) return "'" + std::string(v) + "' is neither a number nor a supported operator";
            p = IntPattern{op, *n, *n};
        }
        e.ints.push_back(p);
        return std::nullopt;
    }
    if (e.method == MatchMethod::ip) {
        auto p = geo::parse_ip_pattern(v, e.no_dns ? geo::NameLookup::none : geo::NameLookup::libc_numeric);
        if (!p) return p.error().detail;
        if (p->masked) e.masked_v4.push_back(p->masked_v4);
        else e.prefixes.push_back(p->prefix);
        return std::nullopt;
    }
    e.strings.emplace_back(v);
    return std::nullopt;
}

Error load_file(AclExpr& e, const std::string& path) {
    if (e.method == MatchMethod::ip) {
        auto set = geo::load_ip_patterns(path, e.no_dns ? geo::NameLookup::none : geo::NameLookup::libc_numeric);
        if (!set) return join_errors(set.error());
        e.prefixes.insert(e.prefixes.end(), set->prefixes.begin(), set->prefixes.end());
        e.masked_v4.insert(e.masked_v4.end(), set->masked.begin(), set->masked.end());
        return std::nullopt;
    }
    auto lines = geo::read_pattern_lines(path, geo::Trailing::keep);
    if (!lines) return lines.error().detail;
    if (e.method == MatchMethod::found || e.method == MatchMethod::boolean) return std::nullopt;
    std::vector<std::string> errs;
    for (const auto& l : *lines) {
        if (is_int_method(e.method)) {
            IntPattern p;   // files hold plain patterns: no operator words (pat_parse_int directly)
            if (auto err = parse_int_pattern(l.text, p)) errs.push_back(path + ":" + std::to_string(l.line) + ": " + *err);
            else e.ints.push_back(p);
        } else {
            e.strings.push_back(l.text);
        }
    }
    if (!errs.empty()) return join_errors(errs);
    return std::nullopt;
}

// Compiles `FETCH[,CONV...] [FLAGS] [VALUES...]` (words[0] is the expression).
Error compile_expr(std::span<const std::string> words, const SourceLocRef& loc, AclExpr& e) {
    if (words.empty() || words[0].empty()) return std::string("missing fetch method in ACL expression ''");
    auto parsed = parse_acl_expression(words[0]);
    if (!parsed) return parsed.error();
    e = AclExpr{};
    e.loc = loc;
    e.fetch = parsed->fetch;
    e.converters = std::move(parsed->converters);
    e.keyword = parsed->keyword;
    e.uses_geo = parsed->uses_geo;
    e.needs_http = parsed->needs_http;
    e.method = parsed->method;
    SampleType type = parsed->type;

    bool loaded_file = false;
    std::size_t i = 1;
    for (; i < words.size() && !words[i].empty() && words[i][0] == '-'; ++i) {
        const std::string& w = words[i];
        if (w == "--") { ++i; break; }
        if (w == "-i") { e.ignore_case = true; continue; }
        if (w == "-n") { e.no_dns = true; continue; }
        if (w == "-m" || w == "-f") {
            std::string arg = i + 1 < words.size() ? words[i + 1] : std::string();
            ++i;
            if (w == "-f") {
                if (arg.empty()) return std::string("missing file name after '-f'");
                if (auto err = load_file(e, arg)) return err;
                loaded_file = true;
                continue;
            }
            if (loaded_file)
                return std::string("'-m' must only be specified before patterns and files in parsing ACL expression");
            auto m = parse_match_name(arg);
            if (!m) {
                if (arg == "reg" || arg == "regm" || arg == "bin")
                    return "matching method '" + arg + "' is not supported by skjold";
                return "unknown matching method '" + arg + "' when parsing ACL expression";
            }
            if (*m == MatchMethod::ip && type == SampleType::boolean)
                return "matching method 'ip' cannot be used with fetch keyword '" + e.keyword + "'";
            e.method = *m;
            continue;
        }
        if (w == "-u" || w == "-M") return "ACL option '" + w + "' is not supported by skjold";
        return "'" + w + "' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'";
    }
    IntOp op = IntOp::eq;
    for (; i < words.size(); ++i)
        if (auto err = add_value(e, words[i], op)) return err;

    if (e.method == MatchMethod::str) {
        if (e.ignore_case)
            std::stable_sort(e.strings.begin(), e.strings.end(),
                             [](const std::string& a, const std::string& b) { return fold_compare(a, b) < 0; });
        else
            std::sort(e.strings.begin(), e.strings.end());
    }
    if (e.method == MatchMethod::ip) e.ip_matcher = geo::IpMatcher(e.prefixes, e.masked_v4);
    return std::nullopt;
}

// Appends `expr` to the ACL called `name` (ORed) or creates it; returns its index.
std::uint32_t store(Proxy& px, const std::string& name, AclExpr&& expr) {
    if (!name.empty())
        for (std::size_t k = 0; k < px.acls.size(); ++k)
            if (px.acls[k].name == name) {
                px.acls[k].exprs.push_back(std::move(expr));
                return static_cast<std::uint32_t>(k);
            }
    Acl acl;
    acl.name = name;
    acl.exprs.push_back(std::move(expr));
    px.acls.push_back(std::move(acl));
    return static_cast<std::uint32_t>(px.acls.size() - 1);
}

// Finds a named ACL, instantiating a predefined one on first use (as HAProxy does).
std::optional<std::uint32_t> find_acl(Proxy& px, const std::string& name, const SourceLocRef& loc, std::string& err) {
    for (std::size_t k = 0; k < px.acls.size(); ++k)
        if (!px.acls[k].name.empty() && px.acls[k].name == name) return static_cast<std::uint32_t>(k);
    auto words = predefined_acl(name);
    if (words.empty()) {
        err = "no such ACL : '" + name + "'";
        return std::nullopt;
    }
    std::vector<std::string> w(words.begin(), words.end());
    AclExpr e;
    if (auto perr = compile_expr(w, loc, e)) {
        err = "predefined ACL '" + name + "': " + *perr;
        return std::nullopt;
    }
    return store(px, name, std::move(e));
}

// Loads the table of every map_ip()/geoip() converter, each distinct map file and each
// distinct (database, field) once, into snap.geo_tables, and points the converters at them.
// Errors name the ACL's FILE:LINE, then the map file's own PATH:LINE or libmaxminddb's message.
void load_geo_tables(Snapshot& snap, std::vector<std::string>& errors) {
    struct Loaded { int index = -1; std::string error; };
    std::map<std::string, Loaded> loaded;   // "map\0PATH" or "geoip\0NAME\0FIELD"
    for (Proxy& px : snap.proxies)
        for (Acl& acl : px.acls)
            for (AclExpr& e : acl.exprs)
                for (ConverterCall& c : e.converters) {
                    if (c.id != ConverterId::map_ip && c.id != ConverterId::geoip) continue;
                    const char* name = c.id == ConverterId::map_ip ? "map_ip" : "geoip";
                    auto where = [&](const std::string& msg) {
                        errors.push_back(e.loc.file + ":" + std::to_string(e.loc.line) + ": converter '" + name + "': " + msg);
                    };
                    const std::string& arg0 = c.args.at(0);
                    std::string field = c.id == ConverterId::geoip && c.args.size() > 1 && !c.args[1].empty()
                                            ? c.args[1] : std::string("country.iso_code");
                    std::string key = c.id == ConverterId::map_ip ? "map" + std::string(1, '\0') + arg0
                                                                  : "geoip" + std::string(1, '\0') + arg0 + '\0' + field;
                    auto it = loaded.find(key);
                    if (it == loaded.end()) {
                        Loaded l;
                        core::Result<geo::ValueTable> t = core::fail(core::Errc::invalid_argument);
                        if (c.id == ConverterId::map_ip) {
                            t = geo::load_ip_map(arg0);
                        } else {
                            const Global::GeoDb* db = nullptr;
                            for (const auto& d : snap.global.geoip_dbs)
                                if (d.name == arg0) db = &d;
                            if (db == nullptr)
                                t = core::fail(core::Errc::invalid_argument,
                                               "unknown database '" + arg0 + "' (declare it with 'geoip-db " + arg0 +
                                                   " FILE' in the global section)");
                            else
                                t = geo::load_mmdb_field(db->file, field);
                        }
                        if (t) {
                            l.index = static_cast<int>(snap.geo_tables.size());
                            snap.geo_tables.push_back(std::make_shared<const geo::ValueTable>(std::move(*t)));
                        } else {
                            l.error = t.error().detail;
                        }
                        it = loaded.emplace(key, std::move(l)).first;
                    }
                    if (it->second.index < 0) {
                        where(it->second.error);
                        continue;
                    }
                    c.table = it->second.index;
                    c.value_table = snap.geo_tables[static_cast<std::size_t>(c.table)].get();
                }
}

}  // namespace

std::optional<std::string> add_acl(Proxy& px, std::span<const std::string> args, const SourceLocRef& loc) {
    if (args.empty() || args[0].empty()) return std::string("'acl' requires an ACL name");
    const std::string& name = args[0];
    for (char c : name)
        if (!valid_acl_name_char(c))
            return "character '" + std::string(1, c) + "' is not permitted in acl name '" + name + "'";
    if (args.size() < 2) return "missing fetch method in ACL expression '' for ACL '" + name + "'";
    AclExpr e;
    if (auto err = compile_expr(args.subspan(1), loc, e)) return "error detected while parsing ACL '" + name + "' : " + *err;
    store(px, name, std::move(e));
    return std::nullopt;
}

core::Result<Condition, std::string> parse_condition(Proxy& px, std::span<const std::string> words,
                                                     const SourceLocRef& loc) {
    Condition c;
    if (words.empty() || (words[0] != "if" && words[0] != "unless"))
        return core::Unexpected{std::string("conditions must start with either 'if' or 'unless'")};
    c.present = true;
    c.unless = words[0] == "unless";
    bool neg = false;
    std::vector<Term>* group = nullptr;
    for (std::size_t i = 1; i < words.size(); ++i) {
        std::string_view w = words[i];
        while (!w.empty() && w[0] == '!') {
            neg = !neg;
            w.remove_prefix(1);
        }
        if (w.empty()) continue;   // a lone '!' applies to the next word
        if (w == "||" || (w.size() == 2 && std::tolower(static_cast<unsigned char>(w[0])) == 'o' &&
                          std::tolower(static_cast<unsigned char>(w[1])) == 'r')) {
            group = nullptr;
            neg = false;
            continue;
        }
        std::uint32_t index = 0;
        if (w == "{") {
            std::size_t end = i + 1;
            while (end < words.size() && words[end] != "}") ++end;
            if (end == words.size()) return core::Unexpected{std::string("missing closing '}' in condition")};
            AclExpr e;
            if (auto err = compile_expr(words.subspan(i + 1, end - i - 1), loc, e))
                return core::Unexpected{"error detected while parsing anonymous ACL : " + *err};
            index = store(px, std::string(), std::move(e));
            i = end;
        } else {
            std::string err;
            auto found = find_acl(px, std::string(w), loc, err);
            if (!found) return core::Unexpected{err};
            index = *found;
        }
        if (group == nullptr) group = &c.any_of.emplace_back();
        group->push_back(Term{index, neg});
        neg = false;
    }
    return c;
}

void resolve_conditions(Snapshot& snap, std::vector<std::string>& errors) {
    for (std::size_t p = 0; p < snap.proxies.size(); ++p) {
        Proxy& px = snap.proxies[p];
        for (Acl& acl : px.acls)
            for (AclExpr& e : acl.exprs) {
                FetchCall& f = e.fetch;
                const std::string ref =
                    "referenced in arg 1 of ACL keyword '" + e.keyword + "' in proxy '" + px.name + "'";
                auto where = [&](const std::string& msg) {
                    errors.push_back(e.loc.file + ":" + std::to_string(e.loc.line) + ": " + msg);
                };
                switch (f.id) {
                case FetchId::nbsrv:
                case FetchId::be_conn:
                case FetchId::fe_conn: {
                    bool want_fe = f.id == FetchId::fe_conn;
                    const char* cap = want_fe ? "frontend" : "backend";
                    int idx = f.arg.empty() ? static_cast<int>(p) : snap.find_proxy(f.arg);
                    if (idx < 0) {
                        where("unable to find " + std::string(cap) + " '" + f.arg + "' " + ref);
                        break;
                    }
                    const Proxy& t = snap.proxies[static_cast<std::size_t>(idx)];
                    if (want_fe ? !t.is_frontend : !t.is_backend) {
                        where("proxy '" + t.name + "', " + ref + ", is not a " + cap);
                        break;
                    }
                    f.backend = idx;
                    break;
                }
                case FetchId::srv_is_up: {
                    auto slash = f.arg.find('/');
                    std::string be = slash == std::string::npos ? std::string() : f.arg.substr(0, slash);
                    std::string sv = slash == std::string::npos ? f.arg : f.arg.substr(slash + 1);
                    int idx = be.empty() ? static_cast<int>(p) : snap.find_proxy(be);
                    if (idx < 0 || !snap.proxies[static_cast<std::size_t>(idx)].is_backend) {
                        where("unable to find backend '" + (be.empty() ? px.name : be) + "' " + ref);
                        break;
                    }
                    const Proxy& t = snap.proxies[static_cast<std::size_t>(idx)];
                    int sidx = -1;
                    for (std::size_t s = 0; s < t.servers.size(); ++s)
                        if (t.servers[s].name == sv) sidx = static_cast<int>(s);
                    if (sidx < 0) {
                        where("unable to find server '" + sv + "' in proxy '" + t.name + "', " + ref);
                        break;
                    }
                    f.backend = idx;
                    f.server = sidx;
                    break;
                }
                default:
                    break;
                }
            }
    }
    load_geo_tables(snap, errors);
}

}  // namespace skjold::conf
