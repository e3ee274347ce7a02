// The graph IR (ONNX semantics) and the executor that plans and runs it.
//
// A Graph is what an ONNX GraphProto holds: inputs and outputs (with a symbolic batch
// dimension written as -1), nodes named by ONNX op type with ONNX attributes, and
// initializers (parameters and constants). Training-only ops live in the "engine" domain.
// An Executor compiles the graph for concrete input shapes (validation, order, shape
// inference, buffers) and runs forward passes or whole training steps in one call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace engine {

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  engine::Tensor t;

  static Attribute of_int(int64_t v);
  static Attribute of_float(float v);
  static Attribute of_string(std::string v);
  static Attribute of_ints(std::vector<int64_t> v);
  static Attribute of_floats(std::vector<float> v);
  static Attribute of_tensor(engine::Tensor v);
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for ONNX, "engine" for training-only ops
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  // Typed attribute access with defaults; a wrong kind is an error naming the node.
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  std::string label() const;  // "Conv 'conv1'" for messages
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;  // -1 marks a dimension fixed only when the graph is planned (the batch)
};

struct Graph {
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;
  std::map<std::string, Tensor> initializers;  // parameters and constants
  std::set<std::string> trainable;             // initializers that receive gradients
};

enum class Mode { Inference, Training };

class Optimizer;  // the update rules (SGD, Adam, ...), applied by train_step

struct ExecutorStats {
  int64_t plans = 0;           // how many times shapes were (re)planned
  int64_t planned_bytes = 0;   // bytes of activation/gradient buffers in the current plan
  int64_t buffer_allocations = 0;  // buffers the executor allocated, over its lifetime
  int64_t fused_activations = 0;   // Relu nodes folded into a Conv/Gemm epilogue
  int64_t folded_batch_norms = 0;  // BatchNormalizations folded into a Conv (current plan)
};

class Executor {
 public:
  // Validates the whole graph up front (unknown ops, dangling or duplicate names, cycles,
  // attributes) and reports every problem in one error. The graph is shared: parameters
  // updated by an optimizer are seen by the next run.
  explicit Executor(std::shared_ptr<Graph> graph);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Forward pass. Inputs in graph-input order; returns the graph outputs (fresh tensors
  // the caller owns). Inference mode: Dropout is identity, BatchNormalization uses its
  // moving statistics.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, Mode mode = Mode::Inference);

  // One training step: forward in training mode, then backward from `loss_output` (a
  // scalar graph value) seeded with 1. Returns the loss; gradients of the trainable
  // initializers are then available from gradient(). Extra values named in `fetch` are
  // copied out as well (for metrics) into `fetched`.
  float train_step(const std::vector<Tensor>& inputs, const std::string& loss_output,
                   const std::vector<std::string>& fetch = {},
                   std::vector<Tensor>* fetched = nullptr);
  const Tensor& gradient(const std::string& initializer) const;

  // After this, every train_step with a finite loss ends by applying `optimizer` to the
  // named trainable initializers (in this order) with their gradients; a non-finite loss
  // leaves the parameters untouched. A null optimizer switches updates off.
  void set_optimizer(std::shared_ptr<Optimizer> optimizer, std::vector<std::string> parameters);

  // Gradients of `output` (seeded with `seed`, same shape) with respect to the graph
  // inputs and trainable initializers, in the given mode. For tests and custom loops.
  std::map<std::string, Tensor> gradients(const std::vector<Tensor>& inputs,
                                          const std::string& output, const Tensor& seed,
                                          Mode mode);

  // A copy of a value computed by the most recent run, train_step or gradients call.
  Tensor value(const std::string& name) const;

  // The training-step counter that seeds per-step randomness (dropout masks): a resumed
  // run sets it to the optimizer's iteration count to replay the same masks.
  void set_step(uint64_t step);

  const ExecutorStats& stats() const;
  const Graph& graph() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine
