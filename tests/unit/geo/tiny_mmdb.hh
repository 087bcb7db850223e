#pragma once
// A minimal MaxMind DB writer for unit tests: 24-bit records, records {"country":{"iso_code":CC}}.
// It writes the shapes the shared test databases lack (an IPv4-only tree, a record above ::/96,
// aliases, a real subtree under ::ffff:0:0/96) and deliberately broken trees (cycles, pointers
// past the data section). Format: MaxMind DB File Format Specification 2.0.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace skjold::test {

class TinyMmdb {
public:
    struct Rec {
        enum Kind : std::uint8_t { empty, node, data, raw } kind = empty;
        std::uint32_t v = 0;   // node index, data index, or the raw record value
    };

    explicit TinyMmdb(int ip_version) : ip_version_(ip_version) { nodes_.push_back({}); }

    // The network addr/len (bits from the first byte of addr) gets record `r`; returns the
    // index of the node holding it. Nodes on the way are created.
    std::uint32_t put(const std::array<std::uint8_t, 16>& addr, unsigned len, Rec r) {
        std::uint32_t n = 0;
        for (unsigned d = 0; d + 1 < len; ++d) {
            unsigned side = bit(addr, d);
            if (nodes_[n][side].kind != Rec::node) {
                nodes_.push_back({});   // invalidates references into nodes_
                nodes_[n][side] = Rec{Rec::node, static_cast<std::uint32_t>(nodes_.size() - 1)};
            }
            n = nodes_[n][side].v;
        }
        nodes_[n][bit(addr, len - 1)] = r;
        return n;
    }
    std::uint32_t add(const std::array<std::uint8_t, 16>& addr, unsigned len, const std::string& cc) {
        data_.push_back(cc);
        return put(addr, len, Rec{Rec::data, static_cast<std::uint32_t>(data_.size() - 1)});
    }
    // The node reached after `len` bits of addr (it must exist).
    std::uint32_t node_at(const std::array<std::uint8_t, 16>& addr, unsigned len) const {
        std::uint32_t n = 0;
        for (unsigned d = 0; d < len; ++d) n = nodes_[n][bit(addr, d)].v;
        return n;
    }
    std::array<Rec, 2>& node(std::uint32_t i) { return nodes_[i]; }
    std::uint32_t node_count() const { return static_cast<std::uint32_t>(nodes_.size()); }

    std::string bytes() const {
        std::string data;
        std::vector<std::uint32_t> offsets;
        for (const auto& cc : data_) {
            offsets.push_back(static_cast<std::uint32_t>(data.size()));
            data += "\xE1" + str("country") + "\xE1" + str("iso_code") + str(cc);
        }
        auto count = node_count();
        std::string out;
        for (const auto& n : nodes_)
            for (const auto& r : n) {
                std::uint32_t v = r.kind == Rec::node ? r.v
                                : r.kind == Rec::data ? count + 16 + offsets[r.v]
                                : r.kind == Rec::raw  ? r.v
                                                      : count;
                out += static_cast<char>(v >> 16);
                out += static_cast<char>(v >> 8);
                out += static_cast<char>(v);
            }
        out += std::string(16, '\0');
        out += data;
        out += "\xAB\xCD\xEFMaxMind.com";
        out += '\xE9';   // a map of 9 pairs
        out += str("binary_format_major_version") + "\xA1\x02";
        out += str("binary_format_minor_version") + "\xA0";
        out += str("build_epoch") + std::string("\x04\x02\x69\x83\xCC\xF9", 6);   // uint64 1770245369
        out += str("database_type") + str("Skjold-Tiny");
        out += str("description") + "\xE0";
        out += str("ip_version") + "\xA1" + static_cast<char>(ip_version_);
        out += str("languages") + std::string("\x00\x04", 2);   // empty array
        out += str("node_count") + "\xC4" + static_cast<char>(count >> 24) + static_cast<char>(count >> 16) +
               static_cast<char>(count >> 8) + static_cast<char>(count);
        out += str("record_size") + "\xA1\x18";
        return out;
    }

private:
    static unsigned bit(const std::array<std::uint8_t, 16>& a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1u; }
    static std::string str(const std::string& s) { return static_cast<char>(0x40 | s.size()) + s; }   // < 29 bytes

    int ip_version_;
    std::vector<std::array<Rec, 2>> nodes_;
    std::vector<std::string> data_;
};

}  // namespace skjold::test
