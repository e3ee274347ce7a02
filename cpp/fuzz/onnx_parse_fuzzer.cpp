// libFuzzer target for the ONNX reader: any byte string must parse or raise a Value-kind
// engine::Error; a crash, a hang, an ASan report, an allocation past libFuzzer's malloc
// limit or any other exception is a finding. What parses must serialize, and the written
// bytes must parse back to the same bytes (the writer accepts whatever the reader builds).
//   cmake -S . -B build/fuzz -DENGINE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
//   build/fuzz/cpp/fuzz/onnx_parse_fuzzer -max_total_time=180 cpp/fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  engine::OnnxModel model;
  try {
    model = engine::onnx_parse(data, size);
  } catch (const engine::Error& e) {
    if (e.kind() != engine::ErrorKind::Value) {
      std::fprintf(stderr, "parse raised a non-Value error: %s\n", e.what());
      std::abort();
    }
    return 0;
  }
  const std::string bytes = engine::onnx_serialize(model);
  const engine::OnnxModel again = engine::onnx_parse(bytes.data(), bytes.size());
  if (engine::onnx_serialize(again) != bytes) {
    std::fprintf(stderr, "serialize(parse(serialize(m))) differs from serialize(m)\n");
    std::abort();
  }
  return 0;
}
