// Graph adapter for Add, Sub, Mul and Div (numpy broadcasting).
#include "graph/node_op.h"
#include "ops/binary/binary.h"

namespace engine {

namespace {
class BinaryNode : public NodeOp {
 public:
  explicit BinaryNode(const Node& node) : NodeOp(node), op_(binary_op_from_name(node.op_type)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 2);
    for (const ValueDesc& d : in)
      if (d.dtype != DType::Float32) fail_node("inputs must be float32, got ", dtype_name(d.dtype));
    return {{DType::Float32, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    binary_forward(op_, in[0], in[1], out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    binary_backward(op_, dout[0], in[0], in[1], din[0].defined() ? &din[0] : nullptr,
                    din[1].defined() ? &din[1] : nullptr);
  }

 private:
  BinaryOp op_;
};
}  // namespace

std::unique_ptr<NodeOp> make_binary_node(const Node& node) { return std::make_unique<BinaryNode>(node); }

}  // namespace engine
