// The reductions in a graph: x and an optional constant int64 axes input; attributes
// keepdims and noop_with_empty_axes. Older ONNX forms (axes as an attribute) are read and
// written by reduce_onnx.cpp.
#include "ops/op.h"
#include "ops/reduce/reduce.h"

namespace engine {

namespace {
class ReduceNode : public NodeOp {
 public:
  explicit ReduceNode(const Node& node) : NodeOp(node), op_(reduce_op_from_name(node.op_type)) {
    attrs_.keepdims = node.attr_int("keepdims") != 0;
    attrs_.noop_with_empty_axes = node.attr_int("noop_with_empty_axes") != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 2);
    if (in[0].dtype != DType::Float32)
      fail(ErrorKind::Type, node_.label(), ": x must be float32, got ", dtype_name(in[0].dtype));
    attrs_.axes.clear();
    if (has_input(in, 1)) attrs_.axes = constant_int64s(in, 1, "axes");
    return {{DType::Float32, reduce_output_shape(node_.label().c_str(), in[0].shape, attrs_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    reduce_forward(op_, io.in(0), attrs_, io.out(0));
  }

  bool backward_reads_forward() const override { return reduce_gradient_reads_output(op_); }
  bool differentiable_input(size_t index) const override { return index == 0; }

  void backward(const OpIO& io, const RunContext&) const override {
    reduce_backward(op_, io.dout(0), io.in(0), io.out(0), attrs_, io.din(0));
  }

 private:
  ReduceOp op_;
  ReduceAttrs attrs_;
};

std::unique_ptr<NodeOp> make_reduce_node(const Node& node) {
  return std::make_unique<ReduceNode>(node);
}
}  // namespace

void reduce_op(OpDef& def) {
  def.schema.inputs(1, 2)
      .attr("keepdims", Attribute::of_int(1))
      .attr("noop_with_empty_axes", Attribute::of_int(0));
  def.make = make_reduce_node;
  def.onnx.legacy.push_back(
      {"axes", Attribute::Kind::Ints, reduce_axes_input_since(reduce_op_from_name(def.op_type))});
  def.onnx.translate = translate_reduce_onnx;
  def.onnx.to_opset = reduce_to_opset;
}

}  // namespace engine
