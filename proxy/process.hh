#pragma once
// The running process: builds the runtime from a Snapshot, binds listeners, starts one
// worker per CPU and then becomes the control thread (signals via signalfd).

#include <memory>
#include <string>
#include <vector>

#include <span>

#include "conf/loader.hh"
#include "conf/snapshot_types.hh"

namespace skjold::proxy {

struct RunOptions {
    std::string ready_file;
    bool daemon = false;       // -D: as `daemon`
    std::string pidfile;       // -p: as `pidfile`, and wins over it (HAProxy's rule)
    std::vector<std::string> files;   // the -f files, read again on reload
};

// The command line's -D/-p applied over the configuration's global section.
void apply_command_line(conf::Global& g, const RunOptions& opt);

// Features whose runtime exists in this build. Starting with any other recorded feature
// fails with "FILE:LINE: 'KEYWORD': FEATURE is not available yet in this build".
bool feature_available(std::string_view feature) noexcept;
std::vector<std::string> unavailable_features(const conf::Snapshot& snap);

// Reads the files as a start, `skjold -c` and a reload do: the Snapshot, or every error as
// FILE:LINE (certificates and keys read and checked too).
conf::LoadResult load_configuration(std::span<const std::string> files);

// Returns the process exit status: 0 after a graceful stop, 1 when start-up failed.
int run(std::shared_ptr<const conf::Snapshot> snap, const RunOptions& opt);

}  // namespace skjold::proxy
