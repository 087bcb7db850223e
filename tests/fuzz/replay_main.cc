// Replays fuzz corpora through a fuzz target with the normal compiler, so every input in
// tests/fuzz/corpus/<target>/ (seeds and the crashes fuzzing found) is a regression test of
// `make test` and `make test-sanitize`. Usage: replay_<target> DIR|FILE...
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool replay(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", p.c_str());
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
    std::size_t n = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path root(argv[i]);
        if (std::filesystem::is_directory(root)) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(root))
                if (e.is_regular_file()) {
                    if (!replay(e.path())) return 1;
                    ++n;
                }
        } else {
            if (!replay(root)) return 1;
            ++n;
        }
    }
    std::printf("replayed %zu input(s) without a crash\n", n);
    return n == 0 ? 1 : 0;   // an empty corpus is a broken test, not a pass
}
