#pragma once
// A running configuration without workers, for the stats socket's unit tests: the Snapshot from
// text, its server state table, counters for two "workers", and a checker that is not started
// (Checker::admin then applies commands on the caller's thread).
// The stats socket's fuzz target (tests/fuzz/stats_command_fuzz.cc) uses it too, through the
// Snapshot constructor and run(), which need no doctest macro: it is not linked with doctest and
// includes this header after `#define DOCTEST_CONFIG_DISABLE`.

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/loader.hh"
#include "core/worker.hh"
#include "health/checker.hh"
#include "proxy/shared.hh"
#include "proxy/stats_commands.hh"
#include "proxy/stats_counters.hh"
#include "proxy/stats_source.hh"

namespace skjold::proxy::test {

struct StatsFixture {
    std::shared_ptr<const conf::Snapshot> snap;
    std::unique_ptr<health::ServerStateTable> table;
    std::vector<std::unique_ptr<WorkerStats>> workers;
    std::unique_ptr<health::Checker> checker;
    StatsSource src;
    StatsHistory history;
    ProcessFacts facts;

    explicit StatsFixture(std::string_view config) : StatsFixture(load_checked(config)) {}

    // Around a Snapshot already loaded (not null).
    explicit StatsFixture(std::shared_ptr<const conf::Snapshot> loaded) : snap(std::move(loaded)) {
        table = std::make_unique<health::ServerStateTable>(*snap);
        for (int i = 0; i < 2; ++i) workers.push_back(make_worker_stats(*snap));
        checker = std::make_unique<health::Checker>(snap, *table);
        src.snap = snap;
        src.state = table.get();
        src.workers = &workers;
        src.check_stats = [this](int p, int s) { return checker->stats(p, s); };
        src.admin = [this](const health::AdminCommand& c) { return checker->admin(c); };
        src.nworkers = 2;
        src.global_maxconn = 1000;
        facts.start_ms = core::monotonic_ms();
        history.reset(src, core::monotonic_ms());
    }

    // One line through the CLI on a session of `level`; the whole answer.
    std::string run(std::string_view line, CliLevel level = CliLevel::admin) {
        CliSession s;
        s.level = level;
        return run(line, s);
    }
    std::string run(std::string_view line, CliSession& s) {
        CliContext ctx{src, history, facts, core::monotonic_ms()};
        std::string out;
        run_line(line, s, ctx, out);
        return out;
    }

    const health::ServerState& server(std::string_view backend, std::string_view name) const {
        const health::BackendState* b = table->find_backend(backend);
        REQUIRE(b != nullptr);
        int i = b->find_server(name);
        REQUIRE(i >= 0);
        return b->server(i);
    }

private:
    // The configuration's Snapshot; the test fails (with the loader's errors) when there is none.
    static std::shared_ptr<const conf::Snapshot> load_checked(std::string_view config) {
        auto r = conf::load_string(config, "t.cfg");
        std::string errors;
        for (const auto& e : r.errors) errors += e.str() + "\n";
        INFO("errors:\n" << errors);
        REQUIRE(r.snapshot != nullptr);
        return r.snapshot;
    }
};

// Splits CSV text into rows of fields (no quoting in these tests' names).
inline std::vector<std::vector<std::string>> csv_rows(std::string_view text) {
    std::vector<std::vector<std::string>> rows;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        std::vector<std::string> f;
        std::size_t s = 0;
        for (;;) {
            std::size_t c = line.find(',', s);
            if (c == std::string_view::npos) {
                f.emplace_back(line.substr(s));
                break;
            }
            f.emplace_back(line.substr(s, c - s));
            s = c + 1;
        }
        rows.push_back(std::move(f));
    }
    return rows;
}

}  // namespace skjold::proxy::test
