// The one walk over an .mmdb search tree (see mmdb_reader.hh for the address mapping).
#include "geo/mmdb_reader.hh"

#include <maxminddb.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unordered_map>

namespace skjold::geo {

namespace {

using Bits = std::array<std::uint8_t, 16>;

// Owns the open database for the duration of one read.
class OpenDb {
public:
    OpenDb() = default;
    ~OpenDb() {
        if (open_) MMDB_close(&db_);
    }
    OpenDb(const OpenDb&) = delete;
    OpenDb& operator=(const OpenDb&) = delete;

    core::Result<void> open(const std::string& file) {
        errno = 0;
        int status = MMDB_open(file.c_str(), MMDB_MODE_MMAP, &db_);
        if (status == MMDB_SUCCESS) {
            open_ = true;
            return {};
        }
        std::string detail = file + ": " + MMDB_strerror(status);
        if (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) {
            int e = errno;
            return core::fail(e == ENOENT ? core::Errc::not_found : core::Errc::io, std::move(detail), e);
        }
        return core::fail(core::Errc::invalid_argument, std::move(detail));
    }
    MMDB_s* get() noexcept { return &db_; }

private:
    MMDB_s db_{};
    bool open_ = false;
};

void set_bit(Bits& b, unsigned bit) noexcept {
    b[bit / 8] = static_cast<std::uint8_t>(b[bit / 8] | (0x80u >> (bit % 8)));
}

bool first_bytes_zero(const Bits& b, unsigned n) noexcept {
    for (unsigned i = 0; i < n; ++i)
        if (b[i] != 0) return false;
    return true;
}

// ::ffff:0:0/96 as a path in the tree: 80 zero bits then 16 one bits.
bool under_mapped_v4(const Bits& b, unsigned depth) noexcept {
    return depth >= 96 && first_bytes_zero(b, 10) && b[10] == 0xff && b[11] == 0xff;
}

Prefix v4_prefix(const std::uint8_t* four, unsigned v4_len) noexcept {
    Prefix p;
    p.addr.b[10] = 0xff;
    p.addr.b[11] = 0xff;
    std::memcpy(&p.addr.b[12], four, 4);
    p.len = static_cast<std::uint8_t>(96 + v4_len);
    return p;
}

template <class N>
std::string number_text(N n) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    return std::string(buf, r.ptr);
}

class Walker {
public:
    Walker(MMDB_s* db, MmdbField& out, std::vector<const char*> path, std::string_view field)
        : db_(db), out_(out), path_(std::move(path)), field_(field) {}

    core::Result<void> run() {
        const auto& md = db_->metadata;
        if (md.ip_version != 4 && md.ip_version != 6)
            return corrupt("unsupported ip_version " + std::to_string(md.ip_version));
        v6_ = md.ip_version == 6;
        depth_ = v6_ ? 128 : 32;
        if (md.node_count == 0) return {};
        if (v6_) {
            auto root = find_v4_root();
            if (!root) return core::Unexpected{root.error()};
        }
        return walk();
    }

private:
    // One record of the tree, at the position (bits, depth) its parent's side puts it.
    struct Frame {
        std::uint8_t type;        // MMDB_RECORD_TYPE_*
        std::uint8_t depth;
        std::uint32_t node;       // when type is SEARCH_NODE
        MMDB_entry_s entry;       // when type is DATA
        Bits bits;
    };

    core::Unexpected<core::Error> corrupt(const std::string& what) const {
        return core::fail(core::Errc::invalid_argument, out_.file + ": " + what);
    }

    // The node reached by 96 zero bits: the IPv4 subtree. Aliases point back at it.
    core::Result<void> find_v4_root() {
        std::uint32_t node = 0;
        for (unsigned i = 0; i < 96; ++i) {
            MMDB_search_node_s sn{};
            int status = MMDB_read_node(db_, node, &sn);
            if (status != MMDB_SUCCESS) return corrupt(MMDB_strerror(status));
            if (sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) return {};
            node = static_cast<std::uint32_t>(sn.left_record);
        }
        v4_root_ = node;
        has_v4_root_ = true;
        return {};
    }

    // Depth-first, left before right (so networks come out in address order, as the tree holds
    // them), with an explicit stack: it never holds more than two frames per level, and every
    // node is read at most once (a valid tree shares no node except through the skipped
    // aliases), so a corrupt file cannot make the walk run longer than node_count reads.
    core::Result<void> walk() {
        std::vector<Frame> stack;
        stack.reserve(2 * depth_ + 2);
        stack.push_back(Frame{MMDB_RECORD_TYPE_SEARCH_NODE, 0, 0, MMDB_entry_s{}, Bits{}});
        std::uint64_t reads = 0;
        while (!stack.empty()) {
            Frame f = stack.back();
            stack.pop_back();
            if (f.type == MMDB_RECORD_TYPE_DATA) {
                if (auto r = add_network(f); !r) return r;
                continue;
            }
            if (++reads > db_->metadata.node_count)
                return corrupt("the search tree visits a node twice (corrupt database)");
            MMDB_search_node_s sn{};
            int status = MMDB_read_node(db_, f.node, &sn);
            if (status != MMDB_SUCCESS) return corrupt(MMDB_strerror(status));
            for (int side = 1; side >= 0; --side) {   // right pushed first: left comes out first
                Frame child{side ? sn.right_record_type : sn.left_record_type,
                            static_cast<std::uint8_t>(f.depth + 1), 0,
                            side ? sn.right_record_entry : sn.left_record_entry, f.bits};
                if (side == 1) set_bit(child.bits, f.depth);
                auto record = static_cast<std::uint32_t>(side ? sn.right_record : sn.left_record);
                switch (child.type) {
                case MMDB_RECORD_TYPE_EMPTY:
                    break;
                case MMDB_RECORD_TYPE_SEARCH_NODE:
                    if (child.depth >= depth_)
                        return corrupt("search tree deeper than " + std::to_string(depth_) + " bits (corrupt database)");
                    if (skip_subtree(child, record)) break;
                    child.node = record;
                    stack.push_back(child);
                    break;
                case MMDB_RECORD_TYPE_DATA:
                    stack.push_back(child);
                    break;
                default:
                    return corrupt("invalid record in search tree node " + std::to_string(f.node) +
                                   " (corrupt database)");
                }
            }
        }
        return {};
    }

    bool skip_subtree(const Frame& child, std::uint32_t node) const noexcept {
        if (!v6_) return false;
        if (under_mapped_v4(child.bits, child.depth)) return true;   // ::ffff:0:0/96: IPv4's
        bool is_v4_home = child.depth == 96 && first_bytes_zero(child.bits, 12);
        return has_v4_root_ && node == v4_root_ && !is_v4_home;      // 2002::/16 and other aliases
    }

    core::Result<void> add_network(Frame& at) {
        if (v6_ && under_mapped_v4(at.bits, at.depth)) return {};
        auto value = value_of(at.entry);
        if (!value) return core::Unexpected{value.error()};
        if (!v6_) {
            out_.networks.push_back({v4_prefix(at.bits.data(), at.depth), *value});
            return {};
        }
        if (at.depth >= 96 && first_bytes_zero(at.bits, 12)) {   // under ::/96: IPv4
            out_.networks.push_back({v4_prefix(&at.bits[12], at.depth - 96u), *value});
            return {};
        }
        Prefix p;
        p.addr.b = at.bits;
        p.len = at.depth;
        out_.networks.push_back({p, *value});
        // A record above ::/96 (at.depth < 96, all zero bits) holds every IPv4 address too.
        if (at.depth < 96 && first_bytes_zero(at.bits, 16))
            out_.networks.push_back({v4_prefix(&at.bits[12], 0), *value});
        return {};
    }

    core::Result<std::uint32_t> value_of(MMDB_entry_s& entry) {
        if (auto it = by_offset_.find(entry.offset); it != by_offset_.end()) return it->second;
        MMDB_entry_data_s d{};
        int status = MMDB_aget_value(&entry, &d, path_.data());
        std::uint32_t id = MmdbNetwork::kNoValue;
        if (status == MMDB_SUCCESS && d.has_data) {
            std::string text;
            switch (d.type) {
            case MMDB_DATA_TYPE_UTF8_STRING: text.assign(d.utf8_string, d.data_size); break;
            case MMDB_DATA_TYPE_BOOLEAN: text = d.boolean ? "true" : "false"; break;
            case MMDB_DATA_TYPE_UINT16: text = number_text(d.uint16); break;
            case MMDB_DATA_TYPE_UINT32: text = number_text(d.uint32); break;
            case MMDB_DATA_TYPE_INT32: text = number_text(d.int32); break;
            case MMDB_DATA_TYPE_UINT64: text = number_text(d.uint64); break;
            case MMDB_DATA_TYPE_DOUBLE: text = number_text(d.double_value); break;
            case MMDB_DATA_TYPE_FLOAT: text = number_text(d.float_value); break;
            case MMDB_DATA_TYPE_MAP:
                return corrupt("field '" + std::string(field_) + "' is a map, not a value");
            case MMDB_DATA_TYPE_ARRAY:
                return corrupt("field '" + std::string(field_) + "' is an array, not a value");
            default:
                return corrupt("field '" + std::string(field_) + "' has a type skjold cannot use as text");
            }
            auto [it, added] = by_text_.try_emplace(text, static_cast<std::uint32_t>(out_.values.size()));
            if (added) out_.values.push_back(std::move(text));
            id = it->second;
        } else if (status != MMDB_SUCCESS && status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
                   status != MMDB_INVALID_LOOKUP_PATH_ERROR) {
            return corrupt(MMDB_strerror(status));
        }
        by_offset_.emplace(entry.offset, id);
        return id;
    }

    MMDB_s* db_;
    MmdbField& out_;
    std::vector<const char*> path_;   // null-terminated, as MMDB_aget_value wants
    std::string_view field_;
    bool v6_ = true;
    unsigned depth_ = 128;
    bool has_v4_root_ = false;
    std::uint32_t v4_root_ = 0;
    std::unordered_map<std::uint32_t, std::uint32_t> by_offset_;   // many networks share a record
    std::unordered_map<std::string, std::uint32_t> by_text_;
};

}  // namespace

std::size_t MmdbField::with_value() const noexcept {
    std::size_t n = 0;
    for (const auto& net : networks) n += net.value != MmdbNetwork::kNoValue;
    return n;
}

core::Result<MmdbField> read_mmdb_field(const std::string& file, std::string_view field) {
    std::vector<std::string> keys;
    for (std::size_t start = 0;;) {
        auto dot = field.find('.', start);
        keys.emplace_back(field.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (keys.back().empty())
            return core::fail(core::Errc::invalid_argument, "bad MaxMind field '" + std::string(field) + "'");
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    std::vector<const char*> path;
    for (const auto& k : keys) path.push_back(k.c_str());
    path.push_back(nullptr);

    OpenDb db;
    if (auto r = db.open(file); !r) return core::Unexpected{r.error()};
    MmdbField out;
    out.file = file;
    const auto& md = db.get()->metadata;
    out.database_type = md.database_type ? md.database_type : "";
    out.build_epoch = md.build_epoch;
    out.ip_version = md.ip_version;
    Walker w(db.get(), out, std::move(path), field);
    if (auto r = w.run(); !r) return core::Unexpected{r.error()};
    return out;
}

}  // namespace skjold::geo
