// Add, Sub, Mul and Div in a graph (numpy broadcasting).
#include "ops/binary/binary.h"
#include "ops/op.h"

namespace engine {

namespace {
class BinaryNode : public NodeOp {
 public:
  explicit BinaryNode(const Node& node) : NodeOp(node), op_(binary_op_from_name(node.op_type)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    expect_float(in, {"a", "b"});
    return {{DType::Float32, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    binary_forward(op_, io.in(0), io.in(1), io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    binary_backward(op_, io.dout(0), io.in(0), io.in(1), io.wanted(0), io.wanted(1));
  }

 private:
  BinaryOp op_;
};

std::unique_ptr<NodeOp> make_binary_node(const Node& node) { return std::make_unique<BinaryNode>(node); }
}  // namespace

void binary_op(OpDef& def) {
  def.schema.inputs(2, 2);
  def.make = make_binary_node;
  def.onnx.legacy = {{"broadcast", Attribute::Kind::Int, 7},
                     {"axis", Attribute::Kind::Int, 7},
                     {"consumed_inputs", Attribute::Kind::Ints, 6}};
  def.onnx.translate = translate_binary_onnx;
}

}  // namespace engine
