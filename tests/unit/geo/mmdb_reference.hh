#pragma once
// libmaxminddb's own answers, the reference the geo unit tests hold skjold's compiled tables to.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <maxminddb.h>

namespace skjold::test {

class MmdbReference {
public:
    static inline const std::string kNone = "(none)";

    explicit MmdbReference(const std::string& file) {
        REQUIRE(MMDB_open(file.c_str(), MMDB_MODE_MMAP, &db_) == MMDB_SUCCESS);
    }
    ~MmdbReference() { MMDB_close(&db_); }
    MmdbReference(const MmdbReference&) = delete;
    MmdbReference& operator=(const MmdbReference&) = delete;

    // The string at `path` (null-terminated list of keys) in the record of `ip`, or kNone.
    std::string answer(const std::string& ip, const std::vector<const char*>& path) {
        int gai = 0, err = 0;
        auto r = MMDB_lookup_string(&db_, ip.c_str(), &gai, &err);
        REQUIRE_MESSAGE((gai == 0 && err == MMDB_SUCCESS), ip);
        if (!r.found_entry) return kNone;
        MMDB_entry_data_s d{};
        if (MMDB_aget_value(&r.entry, &d, path.data()) != MMDB_SUCCESS || !d.has_data) return kNone;
        REQUIRE(d.type == MMDB_DATA_TYPE_UTF8_STRING);
        return std::string(d.utf8_string, d.data_size);
    }

private:
    MMDB_s db_{};
};

}  // namespace skjold::test
