// The training losses in a graph (domain "engine": never exported to ONNX).
//   engine.SoftmaxCrossEntropy(logits, target[, sample_weight]) -> loss
//       attributes: reduction ("mean"), ignore_index
//   engine.<Loss>(pred, target) -> loss, attribute reduction ("mean") and, by op type:
//       MeanSquaredError, MeanAbsoluteError, Huber (delta = 1.0),
//       BinaryCrossEntropy (from_logits = 0 or 1), CategoricalCrossEntropy (axis = 1)
#include "ops/losses/losses.h"
#include "ops/op.h"

namespace engine {

namespace {
class SoftmaxCrossEntropyNode : public NodeOp {
 public:
  explicit SoftmaxCrossEntropyNode(const Node& node) : NodeOp(node) {
    attrs_.reduction = reduction_from_name(node.attr_string("reduction"), node.label().c_str());
    attrs_.ignore_index = node.attr_int("ignore_index", kNoIgnoreIndex);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 3);
    const Tensor weight = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    return {{DType::Float32, labeled([&] {
               return softmax_cross_entropy_loss_shape(shape_only(in[0]), shape_only(in[1]),
                                                       weight, attrs_);
             })}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    softmax_cross_entropy_forward(io.in(0), io.in(1), io.in(2), attrs_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    if (io.wanted(0))
      softmax_cross_entropy_backward(io.dout(0), io.in(0), io.in(1), io.in(2), attrs_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

  bool backward_reads_forward() const override { return false; }

 private:
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
    attrs.delta = node.attr_float("delta");
  } else if (type == "BinaryCrossEntropy") {
    const int64_t from_logits = node.attr_int("from_logits");
    ENGINE_CHECK(from_logits == 0 || from_logits == 1, label,
                 ": from_logits must be 0 or 1, got ", from_logits);
    attrs.kind =
        from_logits ? LossKind::BinaryCrossEntropyFromLogits : LossKind::BinaryCrossEntropy;
  } else if (type == "CategoricalCrossEntropy") {
    attrs.kind = LossKind::CategoricalCrossEntropy;
    attrs.axis = node.attr_int("axis");
  } else {
    fail(ErrorKind::Value, label, ": not a loss op");
  }
  attrs.reduction = reduction_from_name(node.attr_string("reduction"), label.c_str());
  check_loss_attrs(attrs, label);
  return attrs;
}

// Every loss of a prediction against a target of its shape; gradients for both inputs.
class LossNode : public NodeOp {
 public:
  explicit LossNode(const Node& node) : NodeOp(node), attrs_(loss_attrs(node)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    return {{DType::Float32,
             labeled([&] { return loss_shape(shape_only(in[0]), shape_only(in[1]), attrs_); })}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    loss_forward(io.in(0), io.in(1), attrs_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    Tensor none;
    loss_backward(io.dout(0), io.in(0), io.in(1), attrs_, io.wanted(0) ? io.din(0) : none,
                  io.wanted(1) ? io.din(1) : none);
  }

  bool backward_reads_forward() const override { return false; }

 private:
  LossAttrs attrs_;
};

std::unique_ptr<NodeOp> make_softmax_cross_entropy_node(const Node& node) {
  return std::make_unique<SoftmaxCrossEntropyNode>(node);
}

std::unique_ptr<NodeOp> make_loss_node(const Node& node) { return std::make_unique<LossNode>(node); }
}  // namespace

void softmax_cross_entropy_op(OpDef& def) {
  def.schema.inputs(2, 3)
      .attr("reduction", Attribute::of_string("mean"))
      .optional("ignore_index", Attribute::Kind::Int);
  def.make = make_softmax_cross_entropy_node;
}

void loss_op(OpDef& def) {
  def.schema.inputs(2, 2).attr("reduction", Attribute::of_string("mean"));
  const std::string& type = def.op_type;
  if (type == "Huber") def.schema.attr("delta", Attribute::of_float(1.0f));
  if (type == "BinaryCrossEntropy") def.schema.attr("from_logits", Attribute::of_int(0));
  if (type == "CategoricalCrossEntropy") def.schema.attr("axis", Attribute::of_int(1));
  def.make = make_loss_node;
}

}  // namespace engine
