// Add, Sub, Mul, Div, Pow, Max and Min in a graph (numpy broadcasting). ONNX's Max and Min
// take any number of inputs: the engine takes one (a copy) or two.
#include "ops/binary/binary.h"
#include "ops/op.h"

namespace engine {

namespace {
class BinaryNode : public NodeOp {
 public:
  explicit BinaryNode(const Node& node) : NodeOp(node), op_(binary_op_from_name(node.op_type)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    if (variadic() && in.size() > 2)
      fail_node("takes 1 or 2 inputs, got ", in.size(),
                " (the engine's Max and Min are binary: chain them for more)");
    expect_inputs(in, variadic() ? 1 : 2, 2);
    expect_float(in, {"a", "b"});
    if (in.size() == 1) return {{DType::Float32, in[0].shape}};
    return {{DType::Float32, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    if (io.num_inputs() == 1)
      io.out(0).copy_from(io.in(0));
    else
      binary_forward(op_, io.in(0), io.in(1), io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (io.num_inputs() == 1) {
      if (Tensor* dx = io.wanted(0)) dx->copy_from(io.dout(0));
      return;
    }
    binary_backward(op_, io.dout(0), io.in(0), io.in(1), io.wanted(0), io.wanted(1));
  }

 private:
  bool variadic() const { return op_ == BinaryOp::Max || op_ == BinaryOp::Min; }

  BinaryOp op_;
};

std::unique_ptr<NodeOp> make_binary_node(const Node& node) { return std::make_unique<BinaryNode>(node); }
}  // namespace

void binary_op(OpDef& def) {
  const BinaryOp op = binary_op_from_name(def.op_type);
  def.make = make_binary_node;
  if (op == BinaryOp::Max || op == BinaryOp::Min) {
    // Any number in ONNX: the node reports more than two itself, naming the limit.
    def.schema.inputs(1, -1);
    // Before opset 8 the inputs had to have one shape, which broadcasting includes.
    def.onnx.legacy = {{"consumed_inputs", Attribute::Kind::Ints, 6}};
    return;
  }
  def.schema.inputs(2, 2);
  def.onnx.legacy = {{"broadcast", Attribute::Kind::Int, 7}, {"axis", Attribute::Kind::Int, 7}};
  if (op != BinaryOp::Pow) def.onnx.legacy.push_back({"consumed_inputs", Attribute::Kind::Ints, 6});
  def.onnx.translate = translate_binary_onnx;
}

}  // namespace engine
