// Links the installed libengine through find_package(engine): imports an ONNX model with the
// core's own codec (older opsets translated, shape computations folded) and runs it, with no
// Python and no third-party library.
//
//   embed MODEL.onnx     runs the model on a batch of 2 all-0.5 inputs, prints the outputs
//   embed                shows the tensor API only
#include <cstdio>
#include <memory>

#include "engine/engine.h"

namespace {

int run_model(const char* path) {
  engine::OnnxImport model = engine::onnx_load(path);
  auto graph = std::make_shared<engine::Graph>(std::move(model.graph));
  engine::Executor executor(graph);
  std::vector<engine::Tensor> inputs;
  for (const engine::ValueInfo& info : graph->inputs) {
    engine::Shape shape = info.shape;
    for (int64_t& d : shape)
      if (d < 0) d = 2;  // the symbolic batch dimension
    inputs.push_back(engine::Tensor::full(shape, 0.5f));
    std::printf("input %s %s\n", info.name.c_str(), inputs.back().describe().c_str());
  }
  std::vector<engine::Tensor> outputs = executor.run(inputs);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const engine::Tensor& y = outputs[k];
    std::printf("output %s %s:", graph->outputs[k].name.c_str(), y.describe().c_str());
    const float* v = y.data<float>();
    for (int64_t i = 0; i < y.numel() && i < 10; ++i) std::printf(" %.4f", v[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("engine %s (%s), %d threads\n", engine::version(), engine::cpu_features(),
              engine::get_num_threads());
  if (argc > 1) {
    try {
      return run_model(argv[1]);
    } catch (const engine::Error& e) {
      std::printf("error: %s\n", e.what());
      return 1;
    }
  }
  engine::Tensor x = engine::Tensor::full({2, 3}, 1.5f);
  engine::Tensor view = x.reshape({3, 2}).transpose(0, 1);
  std::printf("a transposed view: %s\n", view.describe().c_str());
  try {
    engine::Tensor::empty({-1});
  } catch (const engine::Error& e) {
    std::printf("bad shapes are errors, not crashes: %s\n", e.what());
  }
  return 0;
}
