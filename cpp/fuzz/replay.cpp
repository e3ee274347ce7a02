// Runs a libFuzzer target without libFuzzer (any compiler): every file named on the
// command line (directories: every file in them), then, with --random N, N pseudo-random
// inputs per op of the form "<op>\0<bytes>". Used by ctest to replay the corpus and the
// past findings in CI.
//   graph_fuzz_replay [--random N] cpp/fuzz/graph_corpus
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int replay_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", path.string().c_str());
    std::exit(2);
  }
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (std::getenv("GRAPH_FUZZ_VERBOSE")) std::fprintf(stderr, "%s\n", path.string().c_str());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return 1;
}

int replay_random(int per_op) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  int count = 0;
  for (const std::string& op : engine::supported_ops()) {
    for (int k = 0; k < per_op; ++k, ++count) {
      std::string input = op + '\0';
      const size_t len = next() % 96;
      for (size_t i = 0; i < len; ++i) input += static_cast<char>(next() & 0xFF);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    }
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0, random = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--random" && i + 1 < argc) {
      random += replay_random(std::atoi(argv[++i]));
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) files += replay_file(entry.path());
    } else {
      files += replay_file(arg);
    }
  }
  std::printf("replayed %d files and %d random inputs\n", files, random);
  return 0;
}
