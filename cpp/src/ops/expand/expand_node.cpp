// Expand(input, shape) in a graph: the target shape is a constant, read at plan time.
#include "ops/expand/expand.h"
#include "ops/op.h"

namespace engine {

namespace {
class ExpandNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    shape_ = constant_int64s(in, 1, "shape");
    return {{in[0].dtype, expand_output_shape(in[0].shape, shape_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    expand_forward(io.in(0), shape_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    expand_backward(io.dout(0), shape_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  std::vector<int64_t> shape_;
};

std::unique_ptr<NodeOp> make_expand_node(const Node& node) {
  return std::make_unique<ExpandNode>(node);
}
}  // namespace

void expand_op(OpDef& def) {
  def.schema.inputs(2, 2);
  def.make = make_expand_node;
  def.onnx.since_opset = 8;
  def.onnx.translate = translate_expand_onnx;
}

}  // namespace engine
