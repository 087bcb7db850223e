// .mmdb networks -> ValueTable (the walk is in mmdb_reader.cc).
#include "geo/mmdb.hh"

namespace skjold::geo {

ValueTable compile_mmdb_field(const MmdbField& f) {
    ValueTable t;
    PrefixTable::Builder b;
    for (const auto& n : f.networks) {
        if (n.value == MmdbNetwork::kNoValue) continue;
        b.add(n.prefix, n.value);
        ++t.networks;
    }
    t.table = b.build();
    t.values = f.values;
    return t;
}

core::Result<ValueTable> load_mmdb_field(const std::string& file, std::string_view field) {
    auto f = read_mmdb_field(file, field);
    if (!f) return core::Unexpected{f.error()};
    return compile_mmdb_field(*f);
}

}  // namespace skjold::geo
