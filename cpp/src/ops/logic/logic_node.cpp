// The comparisons, And, Or, Xor and Not in a graph: bool outputs, no gradient.
#include "ops/binary/binary.h"
#include "ops/logic/logic.h"
#include "ops/op.h"

namespace engine {

namespace {
class LogicNode : public NodeOp {
 public:
  explicit LogicNode(const Node& node)
      : NodeOp(node), negate_(node.op_type == "Not"),
        op_(negate_ ? LogicOp::And : logic_op_from_name(node.op_type)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    if (negate_) {
      expect_inputs(in, 1, 1);
      if (in[0].dtype != DType::Bool)
        fail(ErrorKind::Type, node_.label(), ": x must be bool, got ", dtype_name(in[0].dtype));
      return {{DType::Bool, in[0].shape}};
    }
    expect_inputs(in, 2, 2);
    check_logic_dtypes(node_.label().c_str(), op_, in[0].dtype, in[1].dtype);
    return {{DType::Bool, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    if (negate_)
      not_forward(io.in(0), io.out(0));
    else
      logic_forward(op_, io.in(0), io.in(1), io.out(0));
  }

  bool differentiable_input(size_t) const override { return false; }
  bool backward_reads_forward() const override { return false; }

 private:
  bool negate_;
  LogicOp op_;
};

std::unique_ptr<NodeOp> make_logic_node(const Node& node) {
  return std::make_unique<LogicNode>(node);
}
}  // namespace

void logic_op(OpDef& def) {
  def.make = make_logic_node;
  if (def.op_type == "Not") return;
  def.schema.inputs(2, 2);
  if (def.op_type == "LessOrEqual" || def.op_type == "GreaterOrEqual") {
    def.onnx.since_opset = 12;
    return;
  }
  // Opsets < 7: `broadcast` with `axis`, as the arithmetic ops (binary_onnx.cpp).
  def.onnx.legacy = {{"broadcast", Attribute::Kind::Int, 7}, {"axis", Attribute::Kind::Int, 7}};
  def.onnx.translate = translate_binary_onnx;
}

}  // namespace engine
