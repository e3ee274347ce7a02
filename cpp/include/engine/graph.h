// The executor: plans a Graph (engine/ir.h) for concrete input shapes and runs forward
// passes or whole training steps in one call.
//
// Planning validates the graph once (unknown ops, attributes against each op's schema,
// dangling or duplicate names, cycles) and, per input shapes and mode, infers shapes, fuses
// activations, folds BatchNormalization for inference and plans buffers. Plans are
// immutable once built: every call takes its buffers from a pool, so one Executor may be
// run from many threads at once. Calls that change parameters (train_step, training-mode
// runs) take the executor exclusively; inference calls run side by side.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "engine/export.h"
#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class Optimizer;     // engine/optimizer.h
class Communicator;  // engine/communicator.h

// Orders the calls that change parameters (exclusive: training steps, training-mode runs)
// against the calls that only read them (shared: inference). Executors whose graphs share
// parameter tensors (a model's inference and training graphs) are built with the same
// lock, so a training step on one never overlaps an inference call on another.
class ParameterLock {
 public:
  std::shared_mutex mutex;
};

struct ExecutorStats {
  int64_t plans = 0;               // how many times shapes were (re)planned
  int64_t planned_bytes = 0;       // bytes of one call's buffers in the latest plan
  int64_t buffer_allocations = 0;  // buffers the executor allocated, over its lifetime
  int64_t fused_activations = 0;   // Relu nodes folded into a Conv/Gemm epilogue
  int64_t folded_batch_norms = 0;  // BatchNormalizations folded into a Conv (latest plan)
  int64_t fused_gelus = 0;         // Erf-based GELU chains run as one Gelu node
  int64_t fused_layer_norms = 0;   // LayerNormalization chains run as one node
  int64_t fused_swishes = 0;       // x * Sigmoid(x) (SiLU) run as one Swish node
  int64_t fused_hard_swishes = 0;  // x * HardSigmoid(x) run as one HardSwish node
};

class ENGINE_API Executor {
 public:
  // Validates the whole graph up front and reports every problem in one error. The graph
  // is shared and must not change shape afterwards; the values of its initializers may
  // (parameters updated by an optimizer are seen by the next run).
  // `lock`: shared with the other executors over the same parameters (null: its own).
  explicit Executor(std::shared_ptr<Graph> graph, std::shared_ptr<ParameterLock> lock = nullptr);
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
  //
  // With a communicator (set_communicator) the step is one of a data-parallel group: the
  // backward pass is seeded with `samples` (this rank's share of the global batch), and
  // the trainable parameters' gradients and the loss are summed over the ranks in one
  // all-reduce and divided by the total, before the optimizer runs. Every rank then applies
  // the same update and returns the same loss, the mean over the global batch. A rank with
  // no samples of its own takes part with `samples` 0 (any one-sample input).
  float train_step(const std::vector<Tensor>& inputs, const std::string& loss_output,
                   const std::vector<std::string>& fetch = {},
                   std::vector<Tensor>* fetched = nullptr, float samples = 1.0f);
  // A copy of a trainable parameter's gradient from the latest train_step.
  Tensor gradient(const std::string& initializer) const;

  // After this, every train_step with a finite loss ends by applying `optimizer` to the
  // named trainable initializers (in this order) with their gradients; a non-finite loss
  // leaves the parameters untouched, and so do gradients whose global norm is not finite
  // (then train_step throws a FloatingPoint-kind Error). A null optimizer switches updates off.
  void set_optimizer(std::shared_ptr<Optimizer> optimizer, std::vector<std::string> parameters);

  // Makes every later train_step one of a data-parallel group (see train_step); null, or a
  // group of one, trains alone.
  void set_communicator(std::shared_ptr<Communicator> communicator);

  // Gradients of `output` (seeded with `seed`, same shape) with respect to the graph
  // inputs and trainable initializers, in the given mode. For tests and custom loops;
  // `output_value`, when given, receives a copy of the output itself.
  std::map<std::string, Tensor> gradients(const std::vector<Tensor>& inputs,
                                          const std::string& output, const Tensor& seed,
                                          Mode mode, Tensor* output_value = nullptr);

  // A copy of a value computed by the latest call on this executor (a graph output, or any
  // value a training plan keeps).
  Tensor value(const std::string& name) const;

  // The shape of every value for these input shapes, without running anything.
  std::map<std::string, Shape> infer_shapes(const std::vector<Shape>& input_shapes,
                                            Mode mode = Mode::Inference) const;

  // The training-step counter that seeds per-step randomness (dropout masks): a resumed
  // run sets it to the optimizer's iteration count to replay the same masks.
  void set_step(uint64_t step);

  ExecutorStats stats() const;
  const Graph& graph() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine
