// The graph adapter shared by Squeeze and Unsqueeze: a shape-only op whose axes come from
// a constant int64 input (opset >= 13) or, for graphs written against older opsets, the
// `axes` attribute. Backward reshapes dy back to the input's shape.
#pragma once

#include "graph/node_op.h"
#include "ops/reshape/reshape.h"

namespace engine {

template <Shape (*output_shape)(const Shape&, const std::vector<int64_t>&),
          void (*forward_fn)(const Tensor&, const std::vector<int64_t>&, Tensor&)>
class AxesShapeNode : public NodeOp {
 public:
  explicit AxesShapeNode(const Node& node) : NodeOp(node), axes_(node.attr_ints("axes")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 2);
    if (has_input(in, 1)) axes_ = constant_int64s(in, 1, "axes");
    return {{in[0].dtype, output_shape(in[0].shape, axes_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    forward_fn(in[0], axes_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    reshape_backward(dout[0], din[0]);
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace engine
