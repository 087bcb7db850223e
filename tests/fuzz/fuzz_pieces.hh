#pragma once
// What the HTTP fuzz targets share: a fuzz input cut into pieces as receive buffers cut a stream,
// and the cut points each input is tried with. Each piece lives in its own heap block of exactly
// its size, so ASan reports any read past what a parser was given.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace skjold::fuzz {

class Pieces {
public:
    Pieces(const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& cuts) : size_(size) {
        std::size_t from = 0;
        for (std::size_t to : cuts) add(data, from, to);
        add(data, from, size);
    }
    std::size_t size() const { return size_; }
    // The bytes from `pos` to the end of the piece holding it.
    std::pair<const char*, std::size_t> at(std::size_t pos) const {
        for (const auto& p : pieces_)
            if (pos >= p.start && pos < p.start + p.len) return {p.bytes.get() + (pos - p.start), p.start + p.len - pos};
        __builtin_trap();
    }

private:
    struct Piece {
        std::size_t start, len;
        std::unique_ptr<char[]> bytes;
    };
    void add(const std::uint8_t* data, std::size_t& from, std::size_t to) {
        if (to <= from || to > size_) return;
        Piece p{from, to - from, std::make_unique<char[]>(to - from)};
        std::memcpy(p.bytes.get(), data + from, p.len);
        pieces_.push_back(std::move(p));
        from = to;
    }
    std::size_t size_;
    std::vector<Piece> pieces_;
};

// Calls f(cuts) for the cut lists an input is tried with besides whole: byte by byte for its
// first 64 bytes, then twice at points derived from the data (FNV-1a of the input seeds a small
// LCG; short then long pieces), so a failure reproduces from the input alone.
template <class F>
void for_each_split(const std::uint8_t* data, std::size_t size, F&& f) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < size && i <= 64; ++i) cuts.push_back(i);
    f(cuts);
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
    for (int round = 0; round < 2 && size > 1; ++round) {
        cuts.clear();
        const std::size_t span = round == 0 ? 16 : size / 3 + 2;
        for (std::size_t at = 0;;) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            at += 1 + (h >> 33) % span;
            if (at >= size) break;
            cuts.push_back(at);
        }
        f(cuts);
    }
}

}  // namespace skjold::fuzz
