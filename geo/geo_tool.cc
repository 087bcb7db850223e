// `skjold geo lookup`, `skjold geo export` and `skjold geo stats` (see geo_tool.hh). A tool, not
// the data path: it may scan lists linearly to name the prefix that matched.
#include "geo/geo_tool.hh"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string_view>

#include "geo/ip_matcher.hh"
#include "geo/map_file.hh"
#include "geo/mmdb.hh"
#include "geo/mmdb_reader.hh"
#include "geo/pattern_file.hh"
#include "geo/table_stats.hh"

namespace skjold::geo {

namespace {

constexpr std::string_view kUsage =
    "usage: skjold geo lookup [--db FILE]... [--list FILE]... [--field FIELD] ADDRESS...\n"
    "       skjold geo export --db FILE --country CC [--ipv4|--ipv6] [--field FIELD]\n"
    "       skjold geo stats [--list FILE]... [--map FILE]... [--db FILE]... [--field FIELD]\n"
    "FIELD is a dotted path in the MaxMind records (default country.iso_code).\n";
constexpr std::string_view kDefaultField = "country.iso_code";

int usage_error(std::ostream& err, const std::string& msg) {
    err << "skjold geo: " << msg << "\n" << kUsage;
    return 2;
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool bit_at(const IpAddr& a, unsigned i) noexcept {
    return (a.b[i / 8] >> (7 - i % 8)) & 1u;
}

void flip_bit(IpAddr& a, unsigned i) noexcept {
    a.b[i / 8] = static_cast<std::uint8_t>(a.b[i / 8] ^ (0x80u >> (i % 8)));
}

bool equal_ci(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string build_date(std::uint64_t epoch) {
    std::time_t t = static_cast<std::time_t>(epoch);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

// One --db or --list, read once.
struct Source {
    bool is_db = false;
    std::string path;
    MmdbField mmdb;        // is_db
    ValueTable table;      // is_db: what skjold's data path would answer
    IpPatternSet list;     // !is_db
};

// Reads the source; on failure prints the messages and returns false (exit 1).
bool read_source(Source& s, std::string_view field, std::ostream& err) {
    if (s.is_db) {
        auto f = read_mmdb_field(s.path, field);
        if (!f) {
            err << "skjold geo: " << core::describe(f.error()) << "\n";
            return false;
        }
        s.mmdb = std::move(*f);
        s.table = compile_mmdb_field(s.mmdb);
        return true;
    }
    auto l = load_ip_patterns(s.path);
    if (!l) {
        for (const auto& m : l.error()) err << "skjold geo: " << m << "\n";
        return false;
    }
    s.list = std::move(*l);
    return true;
}

void print_lookup(const IpAddr& a, const Source& s, std::string_view field, std::ostream& out) {
    out << a.to_string() << "  " << (s.is_db ? "db " : "list ") << base_name(s.path) << ": ";
    if (s.is_db) {
        const MmdbNetwork* best = nullptr;
        for (const auto& n : s.mmdb.networks)
            if (n.prefix.contains(a) && (!best || n.prefix.len > best->prefix.len)) best = &n;
        if (!best) {
            out << "-\n";
            return;
        }
        auto id = s.table.table.lookup(a);
        out << best->prefix.to_string() << " ";
        if (id == PrefixTable::kNone) out << "(no " << field << ")\n";
        else out << s.table.values[id] << "\n";
        return;
    }
    const Prefix* best = nullptr;
    for (const auto& p : s.list.prefixes)
        if (p.contains(a) && (!best || p.len > best->len)) best = &p;
    if (best) {
        out << best->to_string() << "\n";
        return;
    }
    for (const auto& m : s.list.masked)
        if (m.contains(a)) {
            out << m.to_string() << "\n";
            return;
        }
    out << "-\n";
}

int run_lookup(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::vector<Source> sources;
    std::vector<IpAddr> addrs;
    std::string field(kDefaultField);
    for (std::size_t i = 2; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--db" || a == "--list" || a == "--field") {
            if (i + 1 >= args.size()) return usage_error(err, a + " needs an argument");
            if (a == "--field") {
                field = args[++i];
                continue;
            }
            Source s;
            s.is_db = a == "--db";
            s.path = args[++i];
            sources.push_back(std::move(s));
        } else if (a.size() > 1 && a[0] == '-' && a.find(':') == std::string::npos) {
            return usage_error(err, "unknown option " + a);
        } else if (auto ip = parse_ip(a)) {
            addrs.push_back(*ip);
        } else {
            return usage_error(err, "'" + a + "' is not an IPv4 or IPv6 address");
        }
    }
    if (sources.empty()) return usage_error(err, "lookup needs at least one --db or --list");
    if (addrs.empty()) return usage_error(err, "lookup needs at least one address");
    for (auto& s : sources)
        if (!read_source(s, field, err)) return 1;
    for (const auto& a : addrs)
        for (const auto& s : sources) print_lookup(a, s, field, out);
    return 0;
}

int run_export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::optional<std::string> db, country;
    std::string field(kDefaultField);
    bool v4_only = false, v6_only = false;
    for (std::size_t i = 2; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--db" || a == "--country" || a == "--field") {
            if (i + 1 >= args.size()) return usage_error(err, a + " needs an argument");
            const auto& v = args[++i];
            if (a == "--field") field = v;
            else if (a == "--db" && db) return usage_error(err, "export reads one --db");
            else if (a == "--db") db = v;
            else country = v;
        } else if (a == "--ipv4") {
            v4_only = true;
        } else if (a == "--ipv6") {
            v6_only = true;
        } else {
            return usage_error(err, "unexpected argument " + a);
        }
    }
    if (!db) return usage_error(err, "export needs --db FILE");
    if (!country || country->empty()) return usage_error(err, "export needs --country CC");
    if (v4_only && v6_only) return usage_error(err, "--ipv4 and --ipv6 exclude each other");

    auto f = read_mmdb_field(*db, field);
    if (!f) {
        err << "skjold geo: " << core::describe(f.error()) << "\n";
        return 1;
    }
    std::vector<Prefix> picked;
    for (const auto& n : f->networks) {
        if (n.value == MmdbNetwork::kNoValue || !equal_ci(f->values[n.value], *country)) continue;
        if ((v4_only && !n.prefix.is_v4()) || (v6_only && n.prefix.is_v4())) continue;
        picked.push_back(n.prefix);
    }
    picked = merge_prefixes(std::move(picked));
    out << "# skjold geo export: " << field << " " << *country << " from " << base_name(*db) << " ("
        << f->database_type << ", built " << build_date(f->build_epoch) << ")"
        << (v4_only ? ", IPv4 only" : v6_only ? ", IPv6 only" : "") << "\n";
    for (const auto& p : picked) out << p.to_string() << "\n";
    if (picked.empty()) err << "skjold geo: warning: no network in " << *db << " has " << field << " " << *country << "\n";
    return 0;
}

// Loads each source as a configuration would (`src -f`, map_ip(), geoip-db) and prints the size
// of the table it becomes, then the total.
int run_stats(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    struct Item { std::string kind, path; };
    std::vector<Item> items;
    std::string field(kDefaultField);
    for (std::size_t i = 2; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a != "--list" && a != "--map" && a != "--db" && a != "--field") return usage_error(err, "unexpected argument " + a);
        if (i + 1 >= args.size()) return usage_error(err, a + " needs an argument");
        if (a == "--field") field = args[++i];
        else items.push_back({a.substr(2), args[++i]});
    }
    if (items.empty()) return usage_error(err, "stats needs at least one --list, --map or --db");
    TableStats total;
    std::vector<IpMatcher> matchers;   // alive to the end: the total tells tables apart by address
    std::vector<ValueTable> tables;
    for (const auto& it : items) {
        auto t0 = std::chrono::steady_clock::now();
        TableStats one;
        std::string detail;
        if (it.kind == "list") {
            auto l = load_ip_patterns(it.path);
            if (!l) {
                for (const auto& m : l.error()) err << "skjold geo: " << m << "\n";
                return 1;
            }
            const auto& m = matchers.emplace_back(l->prefixes, l->masked);
            one.add(m);
            total.add(m);
        } else {
            auto v = it.kind == "map" ? load_ip_map(it.path) : load_mmdb_field(it.path, field);
            if (!v) {
                err << "skjold geo: " << core::describe(v.error()) << "\n";
                return 1;
            }
            const auto& t = tables.emplace_back(std::move(*v));
            one.add(t);
            total.add(t);
            detail = ", " + std::to_string(t.values.size()) + " values";
            if (it.kind == "db") detail += " of " + field;
        }
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        char load[32];
        std::snprintf(load, sizeof load, "%.1f", ms);
        out << it.kind << " " << base_name(it.path) << ": " << one.prefixes << " prefixes" << detail << ", "
            << human_bytes(one.bytes) << " (" << one.bytes << " bytes), loaded in " << load << " ms\n";
    }
    out << "total: " << total.tables << " tables, " << total.prefixes << " prefixes, " << human_bytes(total.bytes)
        << " (" << total.bytes << " bytes)\n";
    return 0;
}

}  // namespace

std::vector<Prefix> merge_prefixes(std::vector<Prefix> prefixes) {
    std::sort(prefixes.begin(), prefixes.end());
    std::vector<Prefix> out;
    for (const auto& p : prefixes) {
        if (!out.empty() && out.back().len <= p.len && out.back().contains(p.addr)) continue;
        out.push_back(p);
        // Sorted order puts a left half right before its right half: join while they pair up.
        while (out.size() >= 2) {
            const Prefix& l = out[out.size() - 2];
            const Prefix& r = out.back();
            unsigned len = r.len;
            if (l.len != len || len == 0 || (r.is_v4() && len <= 96)) break;
            if (bit_at(l.addr, len - 1) || !bit_at(r.addr, len - 1)) break;
            IpAddr r_as_left = r.addr;
            flip_bit(r_as_left, len - 1);
            if (r_as_left != l.addr) break;
            Prefix parent{l.addr, static_cast<std::uint8_t>(len - 1)};
            out.pop_back();
            out.back() = parent;
        }
    }
    return out;
}

int geo_tool_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.size() < 2) return usage_error(err, "missing sub-command");
    if (args[1] == "lookup") return run_lookup(args, out, err);
    if (args[1] == "export") return run_export(args, out, err);
    if (args[1] == "stats") return run_stats(args, out, err);
    if (args[1] == "--help" || args[1] == "-h") {
        out << kUsage;
        return 0;
    }
    return usage_error(err, "unknown sub-command '" + args[1] + "'");
}

int geo_tool_main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    int rc = geo_tool_run(args, std::cout, std::cerr);
    std::cout.flush();
    return rc;
}

}  // namespace skjold::geo
