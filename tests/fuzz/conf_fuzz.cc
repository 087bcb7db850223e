// Fuzz target: the configuration lexer, parser and validator (conf::load_string), as `skjold -c`
// runs them on an operator's file. Any input must give a Snapshot or errors, never a crash.
// Host names are not resolved (no DNS query leaves the machine).
#include <cstdint>
#include <string_view>

#include "conf/loader.hh"
#include "core/log.hh"
#include "core/sock_addr.hh"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    skjold::core::set_name_resolution(false);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = skjold::conf::load_string(text, "fuzz.cfg");
    // Every error names where it comes from.
    for (const auto& e : r.errors)
        if (e.str().empty()) __builtin_trap();
    if (r.errors.empty() && !r.snapshot) __builtin_trap();
    return 0;
}
