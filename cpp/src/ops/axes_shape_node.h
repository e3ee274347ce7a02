// The graph adapter shared by Squeeze and Unsqueeze: a shape-only op whose axes come from a
// constant int64 input (opset 13 form; older files are translated, reshape_onnx.cpp).
// Backward reshapes dy back to the input's shape.
#pragma once

#include <memory>

#include "ops/op.h"
#include "ops/reshape/reshape.h"

namespace engine {

template <Shape (*output_shape)(const Shape&, const std::vector<int64_t>&),
          void (*forward_fn)(const Tensor&, const std::vector<int64_t>&, Tensor&)>
class AxesShapeNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 2);
    if (has_input(in, 1)) axes_ = constant_int64s(in, 1, "axes");
    return {{in[0].dtype, output_shape(in[0].shape, axes_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    forward_fn(io.in(0), axes_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    reshape_backward(io.dout(0), io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

  static std::unique_ptr<NodeOp> make(const Node& node) {
    return std::make_unique<AxesShapeNode>(node);
  }

  bool backward_reads_forward() const override { return false; }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace engine
