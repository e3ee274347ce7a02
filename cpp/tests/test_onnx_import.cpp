// ONNX files through the C++ API alone: onnx_load, then the Executor, compared with the
// outputs the case's oracle (onnxruntime where it runs the opset) wrote next to it; cases
// that must not import give an error naming the problem. The cases are written by
// cpp/tests/onnx_cases/make_cases.py: older-opset forms (Softmax's 2-D coercion, Batch
// Normalization attributes, Reshape/Unsqueeze/Squeeze attributes, Gemm and Add
// broadcasting) and a PyTorch-style shape computation folded at import.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "engine/engine.h"

namespace fs = std::filesystem;

namespace {

const fs::path kCases = ENGINE_ONNX_CASES;

std::vector<engine::Tensor> numbered(const fs::path& folder, const char* kind) {
  std::vector<engine::Tensor> out;
  for (int k = 0;; ++k) {
    const fs::path file = folder / (std::string(kind) + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(file)) return out;
    out.push_back(engine::onnx_read_tensor(file.string()));
  }
}

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Same shape, and |got - want| <= atol + rtol * |want| everywhere (NaN never passes).
bool close(const engine::Tensor& got, const engine::Tensor& want, const std::string& what) {
  if (got.shape() != want.shape()) {
    std::printf("  %s: shape %s, expected %s\n", what.c_str(), engine::shape_str(got.shape()).c_str(),
                engine::shape_str(want.shape()).c_str());
    return false;
  }
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  for (int64_t i = 0; i < got.numel(); ++i)
    if (!(std::fabs(g[i] - w[i]) <= 1e-5 + 1e-3 * std::fabs(w[i]))) {
      std::printf("  %s: element %lld is %g, expected %g\n", what.c_str(), (long long)i, g[i], w[i]);
      return false;
    }
  return true;
}

void run_case(const fs::path& folder) {
  const std::string name = folder.filename().string();
  const fs::path model = folder / "model.onnx";
  if (fs::exists(folder / "error.txt")) {
    const std::string phrase = first_line(folder / "error.txt");
    try {
      engine::onnx_load(model.string());
      std::printf("  %s: imported, expected an error with '%s'\n", name.c_str(), phrase.c_str());
      CHECK(false);
    } catch (const engine::Error& e) {
      const bool named = std::string(e.what()).find(phrase) != std::string::npos;
      if (!named) std::printf("  %s: %s\n", name.c_str(), e.what());
      CHECK(named);
      CHECK(e.kind() == engine::ErrorKind::Value);
    }
    return;
  }
  engine::OnnxImport imported = engine::onnx_load(model.string());
  auto graph = std::make_shared<engine::Graph>(std::move(imported.graph));
  engine::Executor executor(graph);
  const std::vector<engine::Tensor> outputs = executor.run(numbered(folder, "input"));
  const std::vector<engine::Tensor> expected = numbered(folder, "output");
  CHECK(outputs.size() == expected.size());
  for (size_t k = 0; k < outputs.size() && k < expected.size(); ++k)
    CHECK(close(outputs[k], expected[k], name + " output " + std::to_string(k)));
}

}  // namespace

TEST_CASE(onnx_cases_match_their_oracle) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kCases)) {
    if (!entry.is_directory()) continue;
    run_case(entry.path());
    ++cases;
  }
  CHECK(cases >= 12);
}

TEST_CASE(imported_batch_stays_symbolic) {
  // The PyTorch flatten pattern folds to a Reshape whose target keeps the batch dim.
  engine::OnnxImport imported = engine::onnx_load((kCases / "pytorch_flatten_folded" / "model.onnx").string());
  CHECK(!imported.fixed_batch);
  CHECK(imported.graph.nodes.size() == 1 && imported.graph.nodes[0].op_type == "Reshape");
  CHECK(imported.output_shapes.size() == 1 && imported.output_shapes[0] == (engine::Shape{-1, 60}));
  auto graph = std::make_shared<engine::Graph>(std::move(imported.graph));
  engine::Executor executor(graph);
  for (int64_t batch : {1, 7}) {
    const engine::Tensor x = engine::Tensor::full({batch, 3, 4, 5}, 0.25f);
    CHECK(executor.run({x})[0].shape() == (engine::Shape{batch, 60}));
  }
}

TEST_CASE(batch_norm_statistics_are_frozen_weights) {
  engine::OnnxImport imported = engine::onnx_load((kCases / "batchnorm_opset7_spatial" / "model.onnx").string());
  CHECK(imported.weights == (std::set<std::string>{"b", "m", "s", "v"}));
  CHECK(imported.graph.trainable == (std::set<std::string>{"b", "s"}));
}

TEST_MAIN()
