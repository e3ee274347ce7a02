// BatchNormalization(X, scale, B, mean, var) -> Y[, running_mean, running_var] in a graph.
// Training mode normalises with the batch statistics and stages the updated moving mean/var
// in per-call state, copied over the initializers by commit() once the step is known to be
// good; inference mode uses them. training_mode=1 (ONNX) normalises with the batch
// statistics in either mode and returns the updated moving statistics as the optional
// outputs (at inference nothing is committed: the inputs stay as they are).
//   state: 0 saved mean [C], 1 saved inv_std [C] (what backward reads: the batch
//          statistics in training, the running ones otherwise), and in training
//          2 next moving mean [C], 3 next moving var [C].
#include "ops/batch_norm/batch_norm.h"
#include "ops/op.h"

namespace engine {

namespace {
class BatchNormNode : public NodeOp {
 public:
  explicit BatchNormNode(const Node& node) : NodeOp(node) {
    attrs_.epsilon = node.attr_float("epsilon");
    attrs_.momentum = node.attr_float("momentum");
    synchronized_ = node.attr_int("synchronized") != 0;
    batch_statistics_ = node.attr_int("training_mode") != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions& options) override {
    expect_inputs(in, 5, 5);
    expect_float(in, {"x", "scale", "bias", "mean", "var"});
    if (in[0].shape.size() < 2)
      fail_node("x must have rank >= 2 ([N, C, ...]), got ", shape_str(in[0].shape));
    const int64_t c = in[0].shape[1];
    training_ = options.mode == Mode::Training || batch_statistics_;
    if (node_.outputs.size() > 1 && !training_)
      fail_node("the running_mean and running_var outputs need training_mode=1");
    // In training the statistics given are the running ones, which the step updates.
    const char* names[] = {"x", "scale", "bias", training_ ? "running_mean" : "mean",
                           training_ ? "running_var" : "var"};
    for (size_t i = 1; i < 5; ++i)
      if (in[i].shape != Shape{c})
        fail_node(names[i], " must have shape [", c, "] (the channels of x), got ",
                  shape_str(in[i].shape));
    add_state({c});  // saved mean
    add_state({c});  // saved inv_std
    if (training_) {
      add_state({c});  // next moving mean
      add_state({c});  // next moving var
    }
    std::vector<ValueDesc> out{{DType::Float32, in[0].shape}};
    for (size_t k = 1; k < node_.outputs.size(); ++k) out.push_back({DType::Float32, {c}});
    return out;
  }

  void forward(const OpIO& io, const RunContext& ctx) const override {
    if (training_) {
      Tensor& next_mean = io.state(2);
      Tensor& next_var = io.state(3);
      next_mean.copy_from(io.in(3));
      next_var.copy_from(io.in(4));
      BatchNormSaved saved{io.state(0), io.state(1)};
      batch_norm_forward_training(io.in(0), io.in(1), io.in(2), next_mean, next_var, attrs_,
                                  io.out(0), saved, group(ctx));
      for (size_t k = 1; k < io.num_outputs(); ++k) io.out(k).copy_from(io.state(1 + k));
    } else {
      batch_norm_forward_inference(io.in(0), io.in(1), io.in(2), io.in(3), io.in(4), attrs_,
                                   io.out(0));
      // What backward reads (2 * C values): the running statistics as mean and inv_std.
      BatchNormSaved saved{io.state(0), io.state(1)};
      batch_norm_frozen_stats(io.in(3), io.in(4), attrs_, saved);
    }
  }

  void commit(const OpIO& io) const override {
    if (!training_) return;
    Tensor moving_mean = io.in(3), moving_var = io.in(4);
    moving_mean.copy_from(io.state(2));
    moving_var.copy_from(io.state(3));
  }

  void backward(const OpIO& io, const RunContext& ctx) const override {
    const BatchNormSaved saved{io.state(0), io.state(1)};
    Tensor none;
    Tensor* dscale = io.wanted(1);
    Tensor* dbias = io.wanted(2);
    if (dscale) zero_fill(*dscale);  // scale and bias gradients accumulate in the kernel
    if (dbias) zero_fill(*dbias);
    batch_norm_backward(io.dout(0), io.in(0), io.in(1), saved, training_,
                        io.wanted(0) ? io.din(0) : none, dscale ? *dscale : none,
                        dbias ? *dbias : none, training_ ? group(ctx) : BatchNormGroup{});
  }

  bool differentiable_input(size_t index) const override { return index < 3; }

 private:
  // Synchronized statistics span the data-parallel group of a training step, if any.
  BatchNormGroup group(const RunContext& ctx) const {
    return synchronized_ ? BatchNormGroup{ctx.group, ctx.group_samples} : BatchNormGroup{};
  }

  BatchNormAttrs attrs_;
  bool training_ = false;
  bool batch_statistics_ = false;  // training_mode=1
  bool synchronized_ = false;
};

std::unique_ptr<NodeOp> make_batch_norm_node(const Node& node) {
  return std::make_unique<BatchNormNode>(node);
}
}  // namespace

void batch_norm_op(OpDef& def) {
  def.schema.inputs(5, 5)
      .outputs(1, 3)
      .attr("epsilon", Attribute::of_float(1e-5f))
      .attr("momentum", Attribute::of_float(0.9f))
      .attr("training_mode", Attribute::of_int(0))
      // Not ONNX: training graphs of Keras's BatchNormalization(synchronized=True).
      .attr("synchronized", Attribute::of_int(0));
  def.make = make_batch_norm_node;
  def.onnx.legacy = {{"spatial", Attribute::Kind::Int, 9},
                     {"is_test", Attribute::Kind::Int, 7},
                     // Removed in opset 6, still written by some opset-6 exporters.
                     {"consumed_inputs", Attribute::Kind::Ints, 7}};
  def.onnx.translate = translate_batch_norm_onnx;
}

}  // namespace engine
