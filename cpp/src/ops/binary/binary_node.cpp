// Add, Sub, Mul, Div, Pow, Max and Min in a graph (numpy broadcasting). ONNX's Max and Min
// take any number of inputs: one is a copy, more fold from the left, max(max(x0, x1), x2),
// the partial results kept in per-call state for the backward pass, which passes each
// gradient to the larger (smaller) side at every fold as the two-input kernel does.
//   state (n > 2 inputs): 0 .. n-3 the partial results, n-2 .. 2n-5 their gradients.
#include "ops/binary/binary.h"
#include "ops/op.h"

namespace engine {

namespace {
class BinaryNode : public NodeOp {
 public:
  explicit BinaryNode(const Node& node) : NodeOp(node), op_(binary_op_from_name(node.op_type)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, variadic() ? 1 : 2, variadic() ? in.size() : 2);
    expect_float(in, {"a", "b"});
    Shape shape = in[0].shape;
    std::vector<Shape> partial;
    for (size_t k = 1; k < in.size(); ++k) {
      shape = broadcast_shapes(node_.label().c_str(), shape, in[k].shape);
      if (k + 1 < in.size()) partial.push_back(shape);
    }
    for (const Shape& p : partial) add_state(p);
    for (const Shape& p : partial) add_state(p);
    folds_ = !partial.empty();
    return {{DType::Float32, shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    const size_t n = io.num_inputs();
    if (n == 1) return io.out(0).copy_from(io.in(0));
    const Tensor* left = &io.in(0);
    for (size_t k = 1; k < n; ++k) {
      Tensor& out = k + 1 == n ? io.out(0) : io.state(k - 1);
      binary_forward(op_, *left, io.in(k), out);
      left = &out;
    }
  }

  bool backward_reads_forward() const override { return folds_; }  // the partial results

  void backward(const OpIO& io, const RunContext&) const override {
    const size_t n = io.num_inputs();
    if (n == 1) {
      if (Tensor* dx = io.wanted(0)) dx->copy_from(io.dout(0));
      return;
    }
    const Tensor* dy = &io.dout(0);
    for (size_t k = n - 1; k >= 1; --k) {
      const Tensor& left = k == 1 ? io.in(0) : io.state(k - 2);
      Tensor* dleft = k == 1 ? io.wanted(0) : &io.state(n - 2 + k - 2);
      binary_backward(op_, *dy, left, io.in(k), dleft, io.wanted(k));
      dy = dleft;
      if (!dy) break;  // k == 1 and x0's gradient is not wanted
    }
  }

 private:
  bool variadic() const { return op_ == BinaryOp::Max || op_ == BinaryOp::Min; }

  BinaryOp op_;
  bool folds_ = false;
};

std::unique_ptr<NodeOp> make_binary_node(const Node& node) { return std::make_unique<BinaryNode>(node); }
}  // namespace

void binary_op(OpDef& def) {
  const BinaryOp op = binary_op_from_name(def.op_type);
  def.make = make_binary_node;
  if (op == BinaryOp::Max || op == BinaryOp::Min) {
    def.schema.inputs(1, -1);  // any number, as in ONNX
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
