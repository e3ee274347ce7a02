// Slice(data, starts, ends[, axes[, steps]]) in a graph: the parameters are constants, read
// once at plan time.
#include "ops/op.h"
#include "ops/slice/slice.h"

namespace engine {

namespace {
class SliceNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 3, 5);
    if (!has_input(in, 1) || !has_input(in, 2)) fail_node("the starts and ends inputs are required");
    p_.starts = constant_int64s(in, 1, "starts");
    p_.ends = constant_int64s(in, 2, "ends");
    p_.axes = has_input(in, 3) ? constant_int64s(in, 3, "axes") : std::vector<int64_t>{};
    p_.steps = has_input(in, 4) ? constant_int64s(in, 4, "steps") : std::vector<int64_t>{};
    return {{in[0].dtype, slice_output_shape(in[0].shape, p_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    slice_forward(io.in(0), p_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    slice_backward(io.dout(0), p_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  SliceParams p_;
};

std::unique_ptr<NodeOp> make_slice_node(const Node& node) {
  return std::make_unique<SliceNode>(node);
}
}  // namespace

void slice_op(OpDef& def) {
  def.schema.inputs(3, 5);
  def.make = make_slice_node;
  def.onnx.legacy = {{"starts", Attribute::Kind::Ints, 10},
                     {"ends", Attribute::Kind::Ints, 10},
                     {"axes", Attribute::Kind::Ints, 10}};
  def.onnx.translate = translate_slice_onnx;
  def.onnx.to_opset = slice_to_opset;
}

}  // namespace engine
