// Training from C++ through the public API alone: a graph with a loss node, an Optimizer
// attached to the executor, train_step. One SGD step is checked against the update worked
// out by hand in double; then the loss must fall.
#include <cmath>
#include <memory>
#include <vector>

#include "check.h"
#include "engine/engine.h"
#include "graph_builders.h"

using engine::Tensor;
using test_graph::node;
using test_graph::values;

TEST_CASE(sgd_step_matches_the_hand_computed_update) {
  // loss = mean over samples and columns of (x W + b - t)^2, N = 4, 3 -> 2.
  const int N = 4, I = 3, O = 2;
  auto graph = std::make_shared<engine::Graph>();
  graph->inputs = {{"x", engine::DType::Float32, {-1, I}}, {"t", engine::DType::Float32, {-1, O}}};
  graph->initializers["W"] = values({I, O}, {0.5f, -0.25f, 0.125f, 1.0f, -0.75f, 0.3f});
  graph->initializers["b"] = values({O}, {0.1f, -0.2f});
  graph->trainable = {"W", "b"};
  graph->nodes = {node("Gemm", "", {"x", "W", "b"}, {"y"}),
                  node("MeanSquaredError", "engine", {"y", "t"}, {"loss"})};
  graph->outputs = {{"y", engine::DType::Float32, {}}};
  engine::OptimizerConfig sgd = engine::optimizer_default_config(engine::OptimizerKind::SGD);
  sgd.learning_rate = 0.1f;
  auto optimizer = std::make_shared<engine::Optimizer>(sgd);
  engine::Executor executor(graph);
  executor.set_optimizer(optimizer, {"W", "b"});

  const Tensor x = values({N, I}, {1, 2, 3, -1, 0.5f, 2, 0, 1, -2, 3, -1, 0.25f});
  const Tensor t = values({N, O}, {1, 0, -1, 2, 0.5f, 0.5f, 2, -1});
  std::vector<double> W(I * O), b(O);
  for (int i = 0; i < I * O; ++i) W[i] = graph->initializers["W"].data<float>()[i];
  for (int j = 0; j < O; ++j) b[j] = graph->initializers["b"].data<float>()[j];
  // dloss/dy = 2 (y - t) / (N O); dW = x^T dy; db = sum_n dy.
  std::vector<double> dW(I * O, 0.0), db(O, 0.0);
  double loss = 0.0;
  for (int n = 0; n < N; ++n)
    for (int j = 0; j < O; ++j) {
      double y = b[j];
      for (int i = 0; i < I; ++i) y += double(x.data<float>()[n * I + i]) * W[i * O + j];
      const double diff = y - t.data<float>()[n * O + j];
      loss += diff * diff / (N * O);
      const double dy = 2.0 * diff / (N * O);
      db[j] += dy;
      for (int i = 0; i < I; ++i) dW[i * O + j] += x.data<float>()[n * I + i] * dy;
    }
  const float got = executor.train_step({x, t}, "loss");
  CHECK(std::fabs(got - loss) <= 1e-5 * std::fabs(loss));
  for (int i = 0; i < I * O; ++i) {
    const double want = W[i] - 0.1 * dW[i];
    CHECK(std::fabs(graph->initializers["W"].data<float>()[i] - want) <= 1e-5 * (1 + std::fabs(want)));
  }
  for (int j = 0; j < O; ++j) {
    const double want = b[j] - 0.1 * db[j];
    CHECK(std::fabs(graph->initializers["b"].data<float>()[j] - want) <= 1e-5 * (1 + std::fabs(want)));
  }
  CHECK(optimizer->iterations() == 1);

  float last = got;
  for (int step = 0; step < 200; ++step) last = executor.train_step({x, t}, "loss");
  CHECK(last < 0.5f * got);
  // The trained graph still runs forward on any batch size.
  CHECK(executor.run({Tensor::full({7, I}, 0.5f), Tensor::full({7, O}, 0.0f)})[0].shape() ==
        (engine::Shape{7, O}));
}

TEST_MAIN()
