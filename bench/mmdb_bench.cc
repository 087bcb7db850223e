// libmaxminddb on the same world networks and addresses as prefix_table_bench.cc (same
// executable, same run). The database is written at bench time by bench/world_mmdb.pl (Debian:
// libmaxmind-db-writer-perl) from the two world lists, into a temporary directory removed at exit.
//   BM_Mmdb_Lookup/<set>:   MMDB_lookup_sockaddr() per address (the search-tree walk only; the
//       addresses are ready-made sockaddr_in / sockaddr_in6). Before timing, every address of the
//       set is checked to get the table's country from libmaxminddb, or the benchmark fails.
//   BM_Mmdb_Chained/<set>:  the same with each lookup waiting for the previous one (latency).
//   BM_Mmdb_Country/<set>:  MMDB_lookup_sockaddr() + MMDB_get_value(country, iso_code): what a
//       caller pays for the answer the table gives.
//   BM_Mmdb_Compile/world:  load_mmdb_field() of the world .mmdb (walk + table build): a reload
//       of `geoip-db` with a world-size database.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bench/geo_world.hh"
#include "geo/mmdb.hh"

extern char** environ;

using namespace skjold;
using bench::Mix;

namespace {

// The world .mmdb, written once per run; error() says why it is missing.
class WorldMmdb {
public:
    static WorldMmdb& get() {
        static WorldMmdb db;
        return db;
    }
    const MMDB_s* db() const noexcept { return open_ ? &db_ : nullptr; }
    const std::string& path() const noexcept { return path_; }
    const std::string& error() const noexcept { return error_; }

    ~WorldMmdb() {
        if (open_) MMDB_close(&db_);
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }

private:
    WorldMmdb() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "skjold-bench-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) {
            error_ = "mkdtemp failed";
            return;
        }
        dir_ = tmpl;
        path_ = dir_ + "/world.mmdb";
        std::string script = bench::source_root() + "/bench/world_mmdb.pl";
        std::string v4 = bench::testdata("all-countries-v4.txt"), v6 = bench::testdata("all-countries-v6.txt");
        std::vector<char*> argv = {const_cast<char*>("perl"), script.data(), path_.data(), v4.data(), v6.data(), nullptr};
        pid_t pid = 0;
        int status = 0;
        if (posix_spawnp(&pid, "perl", nullptr, nullptr, argv.data(), environ) != 0 || waitpid(pid, &status, 0) != pid ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            error_ = "bench/world_mmdb.pl failed (is libmaxmind-db-writer-perl installed?)";
            return;
        }
        int rc = MMDB_open(path_.c_str(), MMDB_MODE_MMAP, &db_);
        if (rc != MMDB_SUCCESS) {
            error_ = path_ + ": " + MMDB_strerror(rc);
            return;
        }
        open_ = true;
    }

    MMDB_s db_{};
    bool open_ = false;
    std::string dir_, path_, error_;
};

union SockAddr {
    sockaddr sa;
    sockaddr_in in;
    sockaddr_in6 in6;
};

const std::vector<SockAddr>& sockaddrs(int family, Mix mix) {
    static std::map<std::pair<int, Mix>, std::vector<SockAddr>> cache;
    auto [it, fresh] = cache.try_emplace({family, mix});
    if (!fresh) return it->second;
    for (const auto& a : bench::addresses(family, mix)) {
        SockAddr s{};
        if (a.is_v4()) {
            s.in.sin_family = AF_INET;
            s.in.sin_addr.s_addr = htonl(a.v4());
        } else {
            s.in6.sin6_family = AF_INET6;
            std::memcpy(&s.in6.sin6_addr, a.b.data(), 16);
        }
        it->second.push_back(s);
    }
    return it->second;
}

std::string_view country_of(const MMDB_lookup_result_s& r) noexcept {
    if (!r.found_entry) return {};
    MMDB_entry_s e = r.entry;
    MMDB_entry_data_s d{};
    if (MMDB_get_value(&e, &d, "country", "iso_code", nullptr) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return {};
    return {d.utf8_string, d.data_size};
}

// Null (and the benchmark failed) unless the database exists and agrees with the table on
// every address of the set.
const MMDB_s* checked_db(benchmark::State& state, int family, Mix mix) {
    auto& w = WorldMmdb::get();
    if (!w.db()) {
        state.SkipWithError(w.error().c_str());
        return nullptr;
    }
    static std::map<std::pair<int, Mix>, std::size_t> disagree;
    auto [it, fresh] = disagree.try_emplace({family, mix}, 0);
    if (fresh) {
        const auto& t = bench::world_table();
        const auto& addrs = bench::addresses(family, mix);
        const auto& sas = sockaddrs(family, mix);
        for (std::size_t i = 0; i < addrs.size(); ++i) {
            int err = 0;
            auto r = MMDB_lookup_sockaddr(w.db(), &sas[i].sa, &err);
            auto id = t.lookup(addrs[i]);
            std::string_view want = id == geo::PrefixTable::kNone ? std::string_view{} : bench::world_codes()[id];
            it->second += err != MMDB_SUCCESS || country_of(r) != want;
        }
    }
    if (it->second) {
        state.SkipWithError((std::to_string(it->second) + " addresses: libmaxminddb disagrees with the table").c_str());
        return nullptr;
    }
    return w.db();
}

void BM_Mmdb_Lookup(benchmark::State& state, int family, Mix mix) {
    const MMDB_s* db = checked_db(state, family, mix);
    if (!db) return;
    const auto& sas = sockaddrs(family, mix);
    std::size_t i = 0, hits = 0;
    for (auto _ : state) {
        int err = 0;
        hits += MMDB_lookup_sockaddr(db, &sas[i++ & (sas.size() - 1)].sa, &err).found_entry;
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Mmdb_Chained(benchmark::State& state, int family, Mix mix) {
    const MMDB_s* db = checked_db(state, family, mix);
    if (!db) return;
    const auto& sas = sockaddrs(family, mix);
    std::size_t i = 0;
    for (auto _ : state) {
        int err = 0;
        i += 1 + !MMDB_lookup_sockaddr(db, &sas[i & (sas.size() - 1)].sa, &err).found_entry;
    }
    benchmark::DoNotOptimize(i);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Mmdb_Country(benchmark::State& state, int family, Mix mix) {
    const MMDB_s* db = checked_db(state, family, mix);
    if (!db) return;
    const auto& sas = sockaddrs(family, mix);
    std::size_t i = 0, chars = 0;
    for (auto _ : state) {
        int err = 0;
        chars += country_of(MMDB_lookup_sockaddr(db, &sas[i++ & (sas.size() - 1)].sa, &err)).size();
    }
    benchmark::DoNotOptimize(chars);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Mmdb_Compile(benchmark::State& state) {
    auto& w = WorldMmdb::get();
    if (!w.db()) {
        state.SkipWithError(w.error().c_str());
        return;
    }
    std::size_t bytes = 0, networks = 0;
    for (auto _ : state) {
        auto t = geo::load_mmdb_field(w.path(), "country.iso_code");
        if (!t) {
            state.SkipWithError(t.error().detail.c_str());
            return;
        }
        bytes = t->table.memory_bytes();
        networks = t->networks;
    }
    state.counters["bytes"] = static_cast<double>(bytes);
    state.counters["networks"] = static_cast<double>(networks);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Mmdb_Lookup, v4, 4, Mix::uniform);
BENCHMARK_CAPTURE(BM_Mmdb_Lookup, v4_listed, 4, Mix::listed);
BENCHMARK_CAPTURE(BM_Mmdb_Lookup, v6_listed, 6, Mix::listed);
BENCHMARK_CAPTURE(BM_Mmdb_Chained, v4, 4, Mix::uniform);
BENCHMARK_CAPTURE(BM_Mmdb_Chained, v4_listed, 4, Mix::listed);
BENCHMARK_CAPTURE(BM_Mmdb_Chained, v6_listed, 6, Mix::listed);
BENCHMARK_CAPTURE(BM_Mmdb_Country, v4, 4, Mix::uniform);
BENCHMARK_CAPTURE(BM_Mmdb_Country, v6_listed, 6, Mix::listed);
BENCHMARK(BM_Mmdb_Compile)->Unit(benchmark::kMillisecond);
