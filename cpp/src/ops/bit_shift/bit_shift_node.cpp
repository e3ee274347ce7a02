// BitShift(x, y) in a graph: int64 values, no gradient.
#include "ops/binary/binary.h"
#include "ops/bit_shift/bit_shift.h"
#include "ops/op.h"

namespace engine {

namespace {
class BitShiftNode : public NodeOp {
 public:
  explicit BitShiftNode(const Node& node) : NodeOp(node) {
    const std::string direction = node.attr_string("direction");
    if (direction != "LEFT" && direction != "RIGHT")
      fail_node("direction must be 'LEFT' or 'RIGHT', got '", direction, "'");
    left_ = direction == "LEFT";
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    for (size_t k = 0; k < 2; ++k)
      if (in[k].dtype != DType::Int64)
        fail(ErrorKind::Type, node_.label(), ": ", k ? "y" : "x", " must be int64, got ",
             dtype_name(in[k].dtype));
    return {{DType::Int64, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    bit_shift_forward(left_, io.in(0), io.in(1), io.out(0));
  }

  bool differentiable_input(size_t) const override { return false; }
  bool backward_reads_forward() const override { return false; }

 private:
  bool left_ = true;
};

std::unique_ptr<NodeOp> make_bit_shift_node(const Node& node) {
  return std::make_unique<BitShiftNode>(node);
}
}  // namespace

void bit_shift_op(OpDef& def) {
  def.schema.inputs(2, 2).required("direction", Attribute::Kind::String);
  def.make = make_bit_shift_node;
  def.onnx.since_opset = 11;
}

}  // namespace engine
