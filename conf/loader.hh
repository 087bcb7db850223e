#pragma once
// The entry point the binary calls (`skjold -f FILE... [-c]`, and on SIGHUP): reads the files,
// lexes, parses and validates them into one immutable Snapshot, collecting every problem.
// Control plane only; safe to call from any thread (no shared state).

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diagnostic.hh"
#include "conf/snapshot_types.hh"

namespace skjold::conf {

struct LoadResult {
    std::shared_ptr<const Snapshot> snapshot;   // null when errors is not empty
    std::vector<Diagnostic> errors, warnings;
};

// Several -f files read in order, as one configuration. A file that cannot be read gives
// "FILE: cannot open: <strerror>". Relative paths inside (acl -f, errorfile, crt, ...) are
// relative to the current directory, as in HAProxy.
LoadResult load_files(std::span<const std::string> paths);

// The same from text (tests); `name` stands for the file name in messages.
LoadResult load_string(std::string_view text, std::string_view name = "<string>");

}  // namespace skjold::conf
