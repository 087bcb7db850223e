// Fuzz target: prefix-list files (`acl ... src -f FILE`) and map files (`map_ip(FILE)`): the
// input is written to a memfd and read through /proc/self/fd, the way a file is read at load.
// Malformed lines must become FILE:LINE errors, never a crash; a loaded list must build a table.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "geo/map_file.hh"
#include "geo/pattern_file.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    int fd = memfd_create("fuzz-list", MFD_CLOEXEC);
    if (fd < 0) return 0;
    std::size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    auto patterns = skjold::geo::load_ip_patterns(path);
    if (!patterns && patterns.error().empty()) __builtin_trap();
    auto map = skjold::geo::load_ip_map(path);
    (void)map;
    close(fd);
    return 0;
}
