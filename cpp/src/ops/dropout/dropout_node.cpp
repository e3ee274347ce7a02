// Graph adapter for Dropout(data, ratio) -> (output[, mask]). The ratio comes from a
// constant input (opset >= 12) or the `ratio` attribute (older opsets); training mode
// draws a fresh mask every step from the node's seed and the step counter.
#include "graph/node_op.h"
#include "ops/dropout/dropout.h"

namespace engine {

namespace {
class DropoutNode : public NodeOp {
 public:
  explicit DropoutNode(const Node& node) : NodeOp(node) {
    rate_ = node.attr_float("ratio", 0.5f);
    seed_ = static_cast<uint64_t>(node.attr_int("seed", 0));
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode mode) override {
    expect_inputs(in, 1, 3);
    if (in[0].dtype != DType::Float32) fail_node("input must be float32, got ", dtype_name(in[0].dtype));
    if (has_input(in, 1)) {
      if (!in[1].constant) fail_node("the ratio input must be a constant");
      if (in[1].constant->numel() != 1 || in[1].dtype != DType::Float32)
        fail_node("the ratio must be a float32 scalar, got ", in[1].constant->describe());
      rate_ = in[1].constant->data<float>()[0];
    }
    if (has_input(in, 2)) fail_node("the training_mode input is not supported; the executor's mode decides");
    if (!(rate_ >= 0.0f && rate_ < 1.0f)) fail_node("ratio must be in [0, 1), got ", rate_);
    training_ = mode == Mode::Training;
    mask_ = training_ ? Tensor::empty(in[0].shape) : Tensor();
    std::vector<ValueDesc> out{{DType::Float32, in[0].shape, nullptr}};
    if (node_.outputs.size() > 1) out.push_back({DType::Float32, in[0].shape, nullptr});
    return out;
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext& ctx) override {
    // A different stream per step, reproducible from the seed.
    const uint64_t seed = seed_ * 0x9E3779B97F4A7C15ull + ctx.step;
    Tensor mask = training_ ? mask_ : Tensor();
    dropout_forward(in[0], rate_, seed, training_, out[0], mask);
    if (out.size() > 1) {
      if (training_)
        out[1].copy_from(mask_);
      else
        out[1].fill(1.0f);
    }
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    if (training_)
      dropout_backward(dout[0], mask_, rate_, din[0]);
    else
      din[0].copy_from(dout[0]);
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  float rate_ = 0.5f;
  uint64_t seed_ = 0;
  bool training_ = false;
  Tensor mask_;
};
}  // namespace

std::unique_ptr<NodeOp> make_dropout_node(const Node& node) { return std::make_unique<DropoutNode>(node); }

}  // namespace engine
