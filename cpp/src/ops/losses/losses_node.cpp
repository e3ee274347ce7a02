// Graph adapters for the training losses (domain "engine"): never exported to ONNX.
//   engine.SoftmaxCrossEntropy(logits, target[, sample_weight]) -> loss
//       attributes: reduction ("mean"), ignore_index
//   engine.MeanSquaredError(pred, target) -> loss      attribute: reduction ("mean")
#include "graph/node_op.h"
#include "ops/losses/losses.h"

namespace engine {

namespace {
class SoftmaxCrossEntropyNode : public NodeOp {
 public:
  explicit SoftmaxCrossEntropyNode(const Node& node) : NodeOp(node) {
    attrs_.reduction = reduction_from_name(node.attr_string("reduction", "mean"), "SoftmaxCrossEntropy");
    attrs_.ignore_index = node.attr_int("ignore_index", kNoIgnoreIndex);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 3);
    Tensor weight = in.size() > 2 && !in[2].shape.empty() ? shape_only(in[2]) : Tensor();
    Shape shape = softmax_cross_entropy_loss_shape(shape_only(in[0]), shape_only(in[1]), weight, attrs_);
    return {{DType::Float32, shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    softmax_cross_entropy_forward(in[0], in[1], weight(in), attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    if (din[0].defined()) softmax_cross_entropy_backward(dout[0], in[0], in[1], weight(in), attrs_, din[0]);
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  static Tensor weight(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }
  CrossEntropyAttrs attrs_;
};

class MeanSquaredErrorNode : public NodeOp {
 public:
  explicit MeanSquaredErrorNode(const Node& node)
      : NodeOp(node), reduction_(reduction_from_name(node.attr_string("reduction", "mean"), "MeanSquaredError")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 2);
    for (const ValueDesc& d : in)
      if (d.dtype != DType::Float32) fail_node("inputs must be float32, got ", dtype_name(d.dtype));
    if (in[0].shape != in[1].shape)
      fail_node("prediction ", shape_str(in[0].shape), " and target ", shape_str(in[1].shape), " differ");
    if (in[0].shape.empty()) fail_node("needs a batch dimension");
    Shape shape = reduction_ == Reduction::None ? Shape{in[0].shape[0]} : Shape{};
    return {{DType::Float32, shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    mean_squared_error_forward(in[0], in[1], reduction_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    mean_squared_error_backward(dout[0], in[0], in[1], reduction_, din[0], din[1]);
  }

 private:
  Reduction reduction_;
};
}  // namespace

std::unique_ptr<NodeOp> make_softmax_cross_entropy_node(const Node& node) {
  return std::make_unique<SoftmaxCrossEntropyNode>(node);
}

std::unique_ptr<NodeOp> make_mean_squared_error_node(const Node& node) {
  return std::make_unique<MeanSquaredErrorNode>(node);
}

}  // namespace engine
