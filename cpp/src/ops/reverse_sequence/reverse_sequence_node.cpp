// ReverseSequence(x, sequence_lens) in a graph: the lengths may be computed at run time, so
// they are checked on every run.
#include "ops/op.h"
#include "ops/reverse_sequence/reverse_sequence.h"

namespace engine {

namespace {
class ReverseSequenceNode : public NodeOp {
 public:
  explicit ReverseSequenceNode(const Node& node) : NodeOp(node) {
    attrs_.time_axis = node.attr_int("time_axis");
    attrs_.batch_axis = node.attr_int("batch_axis");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": x must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (in[1].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": sequence_lens must be int64, got ",
           dtype_name(in[1].dtype));
    if (in[0].shape.size() < 2) fail_node("x must have rank >= 2, got ", shape_str(in[0].shape));
    if (!((attrs_.time_axis == 0 && attrs_.batch_axis == 1) ||
          (attrs_.time_axis == 1 && attrs_.batch_axis == 0)))
      fail_node("time_axis and batch_axis must be 0 and 1 (either way), got ", attrs_.time_axis,
                " and ", attrs_.batch_axis);
    if (in[1].shape != Shape{in[0].shape[static_cast<size_t>(attrs_.batch_axis)]})
      fail_node("sequence_lens ", shape_str(in[1].shape), " must have one length per batch row (",
                in[0].shape[static_cast<size_t>(attrs_.batch_axis)], ")");
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    reverse_sequence(io.in(0), io.in(1), attrs_, io.out(0), "ReverseSequence");
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (Tensor* dx = io.wanted(0))
      reverse_sequence(io.dout(0), io.in(1), attrs_, *dx, "ReverseSequence_backward");
  }

 private:
  ReverseSequenceAttrs attrs_;
};

std::unique_ptr<NodeOp> make_reverse_sequence_node(const Node& node) {
  return std::make_unique<ReverseSequenceNode>(node);
}
}  // namespace

void reverse_sequence_op(OpDef& def) {
  def.schema.inputs(2, 2)
      .attr("time_axis", Attribute::of_int(0))
      .attr("batch_axis", Attribute::of_int(1));
  def.make = make_reverse_sequence_node;
  def.onnx.since_opset = 10;
}

}  // namespace engine
