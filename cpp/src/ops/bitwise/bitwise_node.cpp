// BitShift, BitwiseAnd, BitwiseOr, BitwiseXor and BitwiseNot in a graph: int64 values, no
// gradient.
#include "ops/binary/binary.h"
#include "ops/bitwise/bitwise.h"
#include "ops/op.h"

namespace engine {

namespace {
class BitwiseNode : public NodeOp {
 public:
  explicit BitwiseNode(const Node& node) : NodeOp(node) {
    const std::string direction = node.attr_string("direction", "");
    if (node.op_type == "BitShift" && direction != "LEFT" && direction != "RIGHT")
      fail_node("direction must be 'LEFT' or 'RIGHT', got '", direction, "'");
    op_ = bitwise_op_of(node.op_type, direction);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    const size_t n = op_ == BitwiseOp::Not ? 1 : 2;
    expect_inputs(in, n, n);
    for (size_t k = 0; k < n; ++k)
      if (in[k].dtype != DType::Int64)
        fail(ErrorKind::Type, node_.label(), ": ", k ? "y" : "x", " must be int64, got ",
             dtype_name(in[k].dtype));
    if (n == 1) return {{DType::Int64, in[0].shape}};
    return {{DType::Int64, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    bitwise_forward(op_, io.in(0), op_ == BitwiseOp::Not ? Tensor() : io.in(1), io.out(0));
  }

  bool differentiable_input(size_t) const override { return false; }
  bool backward_reads_forward() const override { return false; }

 private:
  BitwiseOp op_ = BitwiseOp::And;
};

std::unique_ptr<NodeOp> make_bitwise_node(const Node& node) {
  return std::make_unique<BitwiseNode>(node);
}
}  // namespace

void bitwise_op(OpDef& def) {
  def.make = make_bitwise_node;
  if (def.op_type == "BitShift") {
    def.schema.inputs(2, 2).required("direction", Attribute::Kind::String);
    def.onnx.since_opset = 11;
    return;
  }
  def.schema.inputs(def.op_type == "BitwiseNot" ? 1 : 2, def.op_type == "BitwiseNot" ? 1 : 2);
  def.onnx.since_opset = 18;
}

}  // namespace engine
