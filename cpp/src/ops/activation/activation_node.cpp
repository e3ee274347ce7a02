// Graph adapter for the activations: ONNX attributes alpha/gamma, one input, one output.
#include "graph/node_op.h"
#include "ops/activation/activation.h"

namespace engine {

namespace {
class ActivationNode : public NodeOp {
 public:
  explicit ActivationNode(const Node& node)
      : NodeOp(node), op_(activation_from_name(node.op_type)), attrs_(activation_default_attrs(op_)) {
    attrs_.alpha = node.attr_float("alpha", attrs_.alpha);
    attrs_.gamma = node.attr_float("gamma", attrs_.gamma);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    if (in[0].dtype != DType::Float32) fail_node("input must be float32, got ", dtype_name(in[0].dtype));
    return {{DType::Float32, in[0].shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    activation_forward(op_, in[0], attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    activation_backward(op_, dout[0], in[0], out[0], attrs_, din[0]);
  }

 private:
  Activation op_;
  ActivationAttrs attrs_;
};
}  // namespace

std::unique_ptr<NodeOp> make_activation_node(const Node& node) {
  return std::make_unique<ActivationNode>(node);
}

}  // namespace engine
