// Runs an ONNX classifier on a batch from a .npy file and prints each row's top class:
//
//   infer MODEL.onnx INPUT.npy [OUTPUT.npy]
//
// INPUT.npy holds the model's one input, a float32 batch (np.save("x.npy", x) in Python).
// The first output is read as a [batch, classes] score matrix; with OUTPUT.npy it is also
// written there (np.load("y.npy") in Python). infer.c does the same through the C API.
#include <cstdio>
#include <vector>

#include "engine/npy.h"
#include "engine/session.h"
#include "engine/status.h"

namespace {

void describe(const char* what, const engine::TensorInfo& info) {
  std::printf("%s %s: %s%s\n", what, info.name.c_str(), engine::dtype_name(info.dtype),
              engine::shape_str(info.shape).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.onnx INPUT.npy [OUTPUT.npy]\n", argv[0]);
    return 2;
  }
  try {
    const engine::InferenceSession session = engine::InferenceSession::from_file(argv[1]);
    for (const engine::TensorInfo& info : session.inputs()) describe("input", info);
    for (const engine::TensorInfo& info : session.outputs()) describe("output", info);
    if (session.inputs().size() != 1) {
      std::fprintf(stderr, "infer: %s has %zu inputs; this program feeds one\n", argv[1],
                   session.inputs().size());
      return 1;
    }

    // A wrong dtype or shape is an engine::Error naming the input, like any bad file.
    const engine::Tensor x = engine::npy_read(argv[2]);
    const std::vector<engine::Tensor> outputs = session.run({x});
    const engine::Tensor& scores = outputs[0];
    if (scores.ndim() != 2 || scores.dim(1) == 0) {
      std::fprintf(stderr, "infer: the first output is %s, not a [batch, classes] matrix\n",
                   scores.describe().c_str());
      return 1;
    }
    const float* s = scores.data<float>();  // run() returns packed host tensors
    const int64_t rows = scores.dim(0), classes = scores.dim(1);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t top = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (s[r * classes + c] > s[r * classes + top]) top = c;
      std::printf("row %lld: class %lld (%.4f)\n", static_cast<long long>(r),
                  static_cast<long long>(top), s[r * classes + top]);
    }
    if (argc == 4) engine::npy_write(argv[3], scores);
  } catch (const engine::Error& e) {
    std::fprintf(stderr, "infer: %s\n", e.what());
    return 1;
  }
  return 0;
}
