// A main for the fuzz targets without libFuzzer: feeds every file named on
// the command line (directories are walked) to LLVMFuzzerTestOneInput, in
// slices of at most 64 KiB, so ctest replays the seeds and past findings
// with the ordinary compiler and sanitizers. Exit status 0 unless a file
// cannot be read; a crash is the target's own.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kSlice = 64 * 1024;

bool ReplayFile(const std::filesystem::path& path, size_t* inputs) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  for (size_t off = 0; off == 0 || off < bytes.size(); off += kSlice) {
    size_t n = std::min(kSlice, bytes.size() - off);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data() + off), n);
    ++*inputs;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) ok = ReplayFile(e.path(), &inputs) && ok;
      }
    } else {
      ok = ReplayFile(p, &inputs) && ok;
    }
  }
  std::printf("replayed %zu inputs\n", inputs);
  return ok && inputs > 0 ? 0 : 1;
}
