// Graph adapters for the training losses (domain "engine"): never exported to ONNX.
//   engine.SoftmaxCrossEntropy(logits, target[, sample_weight]) -> loss
//       attributes: reduction ("mean"), ignore_index
//   engine.<Loss>(pred, target) -> loss, attribute reduction ("mean") and, by op type:
//       MeanSquaredError, MeanAbsoluteError, Huber (delta = 1.0),
//       BinaryCrossEntropy (from_logits = 0 or 1), CategoricalCrossEntropy (axis = 1)
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
    Tensor weight = has_input(in, 2) ? shape_only(in[2]) : Tensor();
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

LossAttrs loss_attrs(const Node& node) {
  LossAttrs attrs;
  const std::string& type = node.op_type;
  const std::string label = node.label();
  if (type == "MeanSquaredError") {
    attrs.kind = LossKind::MeanSquaredError;
  } else if (type == "MeanAbsoluteError") {
    attrs.kind = LossKind::MeanAbsoluteError;
  } else if (type == "Huber") {
    attrs.kind = LossKind::Huber;
    attrs.delta = node.attr_float("delta", attrs.delta);
  } else if (type == "BinaryCrossEntropy") {
    const int64_t from_logits = node.attr_int("from_logits", 0);
    ENGINE_CHECK(from_logits == 0 || from_logits == 1, label,
                 ": from_logits must be 0 or 1, got ", from_logits);
    attrs.kind =
        from_logits ? LossKind::BinaryCrossEntropyFromLogits : LossKind::BinaryCrossEntropy;
  } else if (type == "CategoricalCrossEntropy") {
    attrs.kind = LossKind::CategoricalCrossEntropy;
    attrs.axis = node.attr_int("axis", attrs.axis);
  } else {
    fail(ErrorKind::Value, label, ": not a loss op");
  }
  attrs.reduction = reduction_from_name(node.attr_string("reduction", "mean"), label.c_str());
  check_loss_attrs(attrs, label);
  return attrs;
}

// Every loss of a prediction against a target of its shape; gradients for both inputs.
class LossNode : public NodeOp {
 public:
  explicit LossNode(const Node& node) : NodeOp(node), attrs_(loss_attrs(node)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 2);
    try {
      return {{DType::Float32, loss_shape(shape_only(in[0]), shape_only(in[1]), attrs_), nullptr}};
    } catch (const Error& e) {
      fail(e.kind(), node_.label(), ": ", e.what());  // the op's message, naming the node
    }
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out,
               const RunContext&) override {
    loss_forward(in[0], in[1], attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    loss_backward(dout[0], in[0], in[1], attrs_, din[0], din[1]);
  }

 private:
  LossAttrs attrs_;
};
}  // namespace

std::unique_ptr<NodeOp> make_softmax_cross_entropy_node(const Node& node) {
  return std::make_unique<SoftmaxCrossEntropyNode>(node);
}

std::unique_ptr<NodeOp> make_loss_node(const Node& node) {
  return std::make_unique<LossNode>(node);
}

std::unique_ptr<NodeOp> make_mean_squared_error_node(const Node& node) {
  return make_loss_node(node);
}

}  // namespace engine
