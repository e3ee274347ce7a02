// Where in a graph: condition (bool, no gradient), x and y (float32 or int64).
#include "ops/op.h"
#include "ops/where/where.h"

namespace engine {

namespace {
class WhereNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 3, 3);
    const char* names[] = {"condition", "x", "y"};
    for (size_t i = 0; i < 3; ++i)
      if (!in[i].present) fail_node(names[i], " is required");
    if (in[0].dtype != DType::Bool)
      fail(ErrorKind::Type, node_.label(), ": condition must be bool, got ",
           dtype_name(in[0].dtype));
    if (in[1].dtype != DType::Float32 && in[1].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": x must be float32 or int64, got ",
           dtype_name(in[1].dtype));
    if (in[2].dtype != in[1].dtype)
      fail(ErrorKind::Type, node_.label(), ": y is ", dtype_name(in[2].dtype), " but x is ",
           dtype_name(in[1].dtype));
    float_ = in[1].dtype == DType::Float32;
    return {{in[1].dtype, where_output_shape(node_.label().c_str(), in[0].shape, in[1].shape,
                                             in[2].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    where_forward(io.in(0), io.in(1), io.in(2), io.out(0));
  }

  bool differentiable_input(size_t index) const override { return index > 0 && float_; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    where_backward(io.dout(0), io.in(0), io.in(1), io.in(2), io.wanted(1), io.wanted(2));
  }

 private:
  bool float_ = true;
};

std::unique_ptr<NodeOp> make_where_node(const Node& node) {
  return std::make_unique<WhereNode>(node);
}
}  // namespace

void where_op(OpDef& def) {
  def.schema.inputs(3, 3);
  def.make = make_where_node;
  def.onnx.since_opset = 9;
}

}  // namespace engine
