// Dropout(data[, ratio]) -> (output[, mask]) in a graph. The ratio comes from a constant
// input or the `ratio` attribute; training mode draws a fresh mask every step from the
// node's seed and the step counter.
//   state (training): 0 mask, the kept positions as 1.0 / 0.0.
#include "ops/dropout/dropout.h"
#include "ops/op.h"

namespace engine {

namespace {
class DropoutNode : public NodeOp {
 public:
  explicit DropoutNode(const Node& node)
      : NodeOp(node), rate_(node.attr_float("ratio")),
        seed_(static_cast<uint64_t>(node.attr_int("seed"))) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions& options) override {
    expect_inputs(in, 1, 3);
    expect_float({in[0]}, {"x"});
    if (has_input(in, 1)) rate_ = constant_float(in, 1, "the ratio");
    training_ = options.mode == Mode::Training;
    if (has_input(in, 2)) training_ = constant_training_mode(in[2]);
    if (!(rate_ >= 0.0f && rate_ < 1.0f)) fail_node("ratio must be in [0, 1), got ", rate_);
    if (training_) add_state(in[0].shape);
    std::vector<ValueDesc> out{{DType::Float32, in[0].shape}};
    if (node_.outputs.size() > 1) out.push_back({DType::Float32, in[0].shape});
    return out;
  }

  void forward(const OpIO& io, const RunContext& ctx) const override {
    Tensor none;
    Tensor& mask = training_ ? io.state(0) : none;
    dropout_forward(io.in(0), rate_, dropout_step_seed(seed_, ctx.step), training_, io.out(0),
                    mask);
    if (io.num_outputs() > 1) {
      if (training_)
        io.out(1).copy_from(mask);
      else
        dropout_keep_all(io.out(1));
    }
  }

  void backward(const OpIO& io, const RunContext&) const override {
    if (training_)
      dropout_backward(io.dout(0), io.state(0), rate_, io.din(0));
    else
      io.din(0).copy_from(io.dout(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  // A training_mode input fixes the mode whatever the executor's: true draws masks at
  // inference too (Monte Carlo dropout), false never does.
  bool constant_training_mode(const ValueDesc& mode) const {
    if (!mode.constant) fail_node("the training_mode input must be a constant");
    const Tensor value = mode.constant->to(Device::cpu());
    if (value.numel() != 1) fail_node("training_mode must be a scalar, got ", value.describe());
    switch (value.dtype()) {
      case DType::Bool: return value.data<bool>()[0];
      case DType::Int64: return value.data<int64_t>()[0] != 0;
      case DType::Float32: return value.data<float>()[0] != 0.0f;
      default: fail_node("training_mode must be a bool, int64 or float32 scalar, got ", value.describe());
    }
  }

  float rate_;
  uint64_t seed_;
  bool training_ = false;
};

std::unique_ptr<NodeOp> make_dropout_node(const Node& node) {
  return std::make_unique<DropoutNode>(node);
}
}  // namespace

void dropout_op(OpDef& def) {
  def.schema.inputs(1, 3)
      .outputs(1, 2)
      .attr("ratio", Attribute::of_float(0.5f))
      .attr("seed", Attribute::of_int(0));
  def.make = make_dropout_node;
  def.onnx.legacy = {{"is_test", Attribute::Kind::Int, 7},
                     {"consumed_inputs", Attribute::Kind::Ints, 6}};
  def.onnx.translate = translate_dropout_onnx;
}

}  // namespace engine
