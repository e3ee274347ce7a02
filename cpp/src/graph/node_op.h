// How an op joins a graph: a NodeOp is created per node and per plan. It parses and
// checks its attributes when created, infers output shapes and sets up private state
// (saved statistics, masks) when planned, then runs forward and backward on buffers the
// executor owns. Each op's adapter lives in its own folder: cpp/src/ops/<op>/<op>_node.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace engine {

// What a node sees of an input at plan time: dtype, concrete shape and, when the input is
// an initializer or constant, its value (Reshape reads its target shape from there).
struct ValueDesc {
  DType dtype = DType::Float32;
  Shape shape;
  const Tensor* constant = nullptr;
  bool present = true;  // false for an omitted optional input ("" in the node)
};

// An optional input slot that the node actually has.
inline bool has_input(const std::vector<ValueDesc>& in, size_t i) {
  return i < in.size() && in[i].present;
}

struct RunContext {
  Mode mode = Mode::Inference;
  uint64_t step = 0;  // increases every training step (dropout draws a fresh mask)
  uint64_t seed = 0;
};

class NodeOp {
 public:
  explicit NodeOp(const Node& node) : node_(node) {}
  virtual ~NodeOp() = default;

  // Checks the inputs (count, dtypes, shapes) and returns the output descriptions.
  virtual std::vector<ValueDesc> plan(const std::vector<ValueDesc>& inputs, Mode mode) = 0;
  virtual void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out,
                       const RunContext& ctx) = 0;
  // din[i] defined: write (overwrite) the gradient of input i there. dout[k] is the
  // gradient of output k (undefined when nothing flows back into that output).
  virtual void backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                        const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                        const RunContext& ctx);
  // Makes the side effects of the last forward pass permanent (BatchNormalization's moving
  // statistics). The executor calls it after a training step whose loss is finite, so a
  // step that produced NaN leaves every parameter and statistic as it was.
  virtual void commit() {}

  // False for inputs that never carry gradients (labels, shapes, indices).
  virtual bool differentiable_input(size_t index) const { return true; }

  const Node& node() const { return node_; }

 protected:
  // Errors raised while checking this node name it: "Conv 'conv1': ...".
  template <class... Parts>
  [[noreturn]] void fail_node(const Parts&... parts) const {
    fail(ErrorKind::Value, node_.label(), ": ", parts...);
  }
  void expect_inputs(const std::vector<ValueDesc>& inputs, size_t min, size_t max) const;
  // The values of input `index`, which must be a constant 1-D int64 tensor (a target shape,
  // a list of axes); `what` names it in errors.
  std::vector<int64_t> constant_int64s(const std::vector<ValueDesc>& inputs, size_t index,
                                       const char* what) const;

  const Node& node_;
};

// A tensor with the dtype and shape of `desc` and no memory, for the ops whose shape checks
// are written against tensors. Only shapes and dtypes may be read from it.
Tensor shape_only(const ValueDesc& desc);

// Zeroes a gradient buffer before an op kernel that accumulates into it.
void zero_fill(Tensor& t);

using NodeOpFactory = std::unique_ptr<NodeOp> (*)(const Node& node);

// The factory for an op, or nullptr when the engine does not implement it.
NodeOpFactory find_node_op(const std::string& domain, const std::string& op_type);
std::vector<std::string> supported_ops();  // "Relu", "engine.SoftmaxCrossEntropy", ...

// Internal attribute on a Conv or Gemm whose Relu the planner fused into the epilogue.
constexpr const char* kFusedActivation = "engine_fused_activation";
bool has_fused_relu(const Node& node);
// Backward through a fused Relu: dpre = dy where y > 0, else 0 (y is the fused output).
void fused_relu_backward(const Tensor& dy, const Tensor& y, Tensor& dpre);

// Inference: Conv(X, W[, B]) followed by BatchNormalization(scale, bias, mean, var) (and a
// Relu when `relu`) as one node; inputs X, W, B (may be absent), scale, bias, mean, var.
std::unique_ptr<NodeOp> make_conv_batch_norm_node(const Node& conv, const Node& batch_norm,
                                                  bool relu);

// Adapters declared once from the op list.
#define ENGINE_OP(domain, op_type, factory) std::unique_ptr<NodeOp> factory(const Node& node);
#include "ops/op_list.inc"
#undef ENGINE_OP

}  // namespace engine
