// Trains a small MLP classifier from C++ and exports it as ONNX:
//
//   train OUTPUT.onnx [STEPS]
//
// The model is built in code as an engine::Graph (Gemm -> Relu -> Gemm, logits out),
// serialized to ONNX bytes and handed to a TrainingSession; the data are generated: points
// around three centres in 4-D, labelled by their centre. The loss is printed every 50
// steps; the program fails if training did not lower it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/npy.h"
#include "engine/onnx.h"
#include "engine/session.h"
#include "engine/status.h"

namespace {

constexpr int64_t kFeatures = 4, kHidden = 16, kClasses = 3;
constexpr int64_t kTrain = 960, kTest = 240, kBatch = 32;

// Points around one of kClasses centres (the label), kFeatures floats each.
struct Data {
  std::vector<float> x;
  std::vector<int64_t> y;
};

Data make_data(int64_t n, std::mt19937& rng) {
  static const float centres[kClasses][kFeatures] = {
      {2, 0, 0, 1}, {0, 2, 0, -1}, {0, 0, 2, 0}};
  std::normal_distribution<float> noise(0.0f, 0.9f);
  std::uniform_int_distribution<int64_t> label(0, kClasses - 1);
  Data d;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = label(rng);
    d.y.push_back(c);
    for (int64_t f = 0; f < kFeatures; ++f) d.x.push_back(centres[c][f] + noise(rng));
  }
  return d;
}

engine::Node node(const char* op, std::vector<std::string> inputs, const std::string& output) {
  engine::Node n;
  n.name = output;
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = {output};
  return n;
}

// Glorot-uniform weights [in, out], as Keras initializes Dense layers.
engine::Tensor glorot(int64_t in, int64_t out, std::mt19937& rng) {
  const float limit = std::sqrt(6.0f / static_cast<float>(in + out));
  std::uniform_real_distribution<float> u(-limit, limit);
  engine::Tensor w = engine::Tensor::empty({in, out});
  for (int64_t k = 0; k < w.numel(); ++k) w.data<float>()[k] = u(rng);
  return w;
}

// x [batch, kFeatures] -> Gemm -> Relu -> Gemm -> logits [batch, kClasses], as ONNX bytes.
std::string mlp_onnx(std::mt19937& rng) {
  engine::OnnxModel model;
  engine::Graph& g = model.graph;
  g.inputs = {{"x", engine::DType::Float32, {-1, kFeatures}}};
  g.outputs = {{"logits", engine::DType::Float32, {-1, kClasses}}};
  g.nodes = {node("Gemm", {"x", "w1", "b1"}, "hidden"), node("Relu", {"hidden"}, "relu"),
             node("Gemm", {"relu", "w2", "b2"}, "logits")};
  g.initializers = {{"w1", glorot(kFeatures, kHidden, rng)},
                    {"b1", engine::Tensor::zeros({kHidden})},
                    {"w2", glorot(kHidden, kClasses, rng)},
                    {"b2", engine::Tensor::zeros({kClasses})}};
  return engine::onnx_serialize(model);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s OUTPUT.onnx [STEPS]\n", argv[0]);
    return 2;
  }
  const int64_t steps = argc == 3 ? std::atoll(argv[2]) : 600;
  if (steps <= 0) {
    std::fprintf(stderr, "train: STEPS must be a positive number, not '%s'\n", argv[2]);
    return 2;
  }
  try {
    std::mt19937 rng(2024);
    Data train = make_data(kTrain, rng), test = make_data(kTest, rng);

    engine::TrainingOptions options;  // sparse categorical cross-entropy on logits
    options.optimizer = engine::optimizer_default_config(engine::OptimizerKind::Adam);
    options.optimizer.learning_rate = 0.01f;
    const std::string bytes = mlp_onnx(rng);
    engine::TrainingSession session =
        engine::TrainingSession::from_buffer(bytes.data(), bytes.size(), options);

    // The batches are views of the data vectors (host_view: no copy).
    const auto inputs = [](Data& d, int64_t first, int64_t n) {
      return std::vector<engine::Tensor>{
          engine::host_view(&d.x[first * kFeatures], {n, kFeatures})};
    };
    const auto labels = [](Data& d, int64_t first, int64_t n) {
      return engine::host_view(&d.y[first], {n}, engine::DType::Int64);
    };
    const float initial = session.evaluate(inputs(test, 0, kTest), labels(test, 0, kTest));
    std::printf("step 0: test loss %.4f\n", initial);
    double sum = 0;  // of the batch losses since the last print
    for (int64_t step = 1; step <= steps; ++step) {
      const int64_t first = (step - 1) * kBatch % kTrain;  // kTrain is a multiple of kBatch
      sum += session.train_step(inputs(train, first, kBatch), labels(train, first, kBatch));
      if (step % 50 == 0 || step == steps) {
        const int64_t since = step % 50 == 0 ? 50 : step % 50;
        std::printf("step %lld: mean batch loss %.4f\n", static_cast<long long>(step), sum / since);
        sum = 0;
      }
    }
    const float final_loss = session.evaluate(inputs(test, 0, kTest), labels(test, 0, kTest));

    const engine::Tensor logits = session.run(inputs(test, 0, kTest))[0];
    int64_t correct = 0;
    for (int64_t r = 0; r < kTest; ++r) {
      const float* row = logits.data<float>() + r * kClasses;
      int64_t top = 0;
      for (int64_t c = 1; c < kClasses; ++c)
        if (row[c] > row[top]) top = c;
      correct += top == test.y[r];
    }
    std::printf("test loss %.4f -> %.4f, accuracy %.3f\n", initial, final_loss,
                static_cast<double>(correct) / kTest);

    session.export_onnx(argv[1]);
    std::printf("exported %s\n", argv[1]);
    if (!(final_loss < initial)) {
      std::fprintf(stderr, "train: the test loss did not go down\n");
      return 1;
    }
  } catch (const engine::Error& e) {
    std::fprintf(stderr, "train: %s\n", e.what());
    return 1;
  }
  return 0;
}
