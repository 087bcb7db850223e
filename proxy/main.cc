// skjold(8): command line. Control plane only.

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "conf/keywords.hh"
#include "conf/loader.hh"
#include "core/log.hh"
#include "geo/geo_tool.hh"
#include "proxy/process.hh"
#include "proxy/tls_config.hh"

namespace {

constexpr const char* kUsage =
    "Usage: skjold -f FILE [-f FILE ...] [-c] [-d] [-D] [-p PIDFILE] [--ready-file PATH]\n"
    "       skjold geo lookup [--db FILE]... [--list FILE]... ADDRESS...\n"
    "       skjold geo export --db FILE --country CC [--ipv4|--ipv6]\n"
    "       skjold geo stats [--list FILE]... [--map FILE]... [--db FILE]...\n"
    "       skjold -v | --keywords | --help\n"
    "\n"
    "  -f FILE            configuration file (HAProxy syntax); several are read in order\n"
    "  -c                 check the configuration and exit (0: valid, 1: errors listed as FILE:LINE)\n"
    "  -d                 debug logging\n"
    "  -D                 run as a daemon (as the 'daemon' keyword)\n"
    "  -p PIDFILE         write the pid to PIDFILE (as 'pidfile'; the command line wins)\n"
    "  -v, --version      print the version and exit\n"
    "  --ready-file PATH  once every listener is up, write '<proxy> <bind-name|-> <address>' lines to PATH\n"
    "  --keywords         list every configuration keyword skjold knows, with its section and synopsis\n"
    "  --help             this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop gracefully (bounded by hard-stop-after); SIGHUP reloads the\n"
    "configuration (kept when invalid). See skjold(8), skjold.cfg(5).\n";

int usage_error(const char* msg) {
    std::fprintf(stderr, "skjold: %s\n%s", msg, kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace skjold;
#if defined(__x86_64__) && defined(__POPCNT__)
    // Built with popcnt (meson.build: the geo lookup inlined into the data path uses it).
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("popcnt")) {
        std::fprintf(stderr, "skjold: this CPU has no popcnt instruction (x86-64 before 2008); rebuild without -mpopcnt\n");
        return 1;
    }
#endif
    // `skjold geo lookup|export ...`: the geo tools (skjold(8), GEO SUB-COMMANDS).
    if (argc >= 2 && std::string_view(argv[1]) == "geo") return geo::geo_tool_main(argc - 1, argv + 1);
    std::vector<std::string> files;
    bool check_only = false;
    proxy::RunOptions opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-f") {
            if (++i >= argc) return usage_error("-f needs a file");
            files.emplace_back(argv[i]);
        } else if (a == "-c") {
            check_only = true;
        } else if (a == "-D") {
            opt.daemon = true;
        } else if (a == "-p") {
            if (++i >= argc) return usage_error("-p needs a file");
            opt.pidfile = argv[i];
        } else if (a == "-d") {
            core::set_log_level(core::Level::debug);
        } else if (a == "-v" || a == "--version" || a == "-vv") {
            std::printf("skjold version %s\n", SKJOLD_VERSION);
            return 0;
        } else if (a == "--ready-file") {
            if (++i >= argc) return usage_error("--ready-file needs a path");
            opt.ready_file = argv[i];
        } else if (a == "--keywords") {
            for (const auto& k : conf::keyword_table()) {
                std::string where;
                if (k.sections & conf::kInGlobal) where += "global,";
                if (k.sections & conf::kInDefaults) where += "defaults,";
                if (k.sections & conf::kInFrontend) where += "frontend,";
                if (k.sections & conf::kInBackend) where += "backend,";
                if (!where.empty()) where.pop_back();
                std::string kw(k.name);
                if (!k.synopsis.empty()) kw += " " + std::string(k.synopsis);
                std::string doc(k.doc);
                if (!k.feature.empty()) doc += " [needs: " + std::string(k.feature) + "]";
                std::printf("%-34s %-60s %s\n", where.c_str(), kw.c_str(), doc.c_str());
            }
            return 0;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            return usage_error(("unknown option '" + a + "'").c_str());
        }
    }
    if (files.empty()) return usage_error("no configuration file given (-f FILE)");

    // The same reading as a reload's, so `-c` gives the verdict a reload would.
    auto loaded = proxy::load_configuration(files);
    for (const auto& w : loaded.warnings) std::fprintf(stderr, "[WARNING] %s\n", w.str().c_str());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "[ALERT] %s\n", e.str().c_str());
    if (!loaded.errors.empty() || !loaded.snapshot) {
        std::fprintf(stderr, "[ALERT] configuration has %zu error(s)%s\n", loaded.errors.size(),
                     check_only ? "" : "; not starting");
        return 1;
    }
    if (check_only) {
        std::printf("Configuration file is valid\n");
        return 0;
    }
    opt.files = files;
    return proxy::run(loaded.snapshot, opt);
}
