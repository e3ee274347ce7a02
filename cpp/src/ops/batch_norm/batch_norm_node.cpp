// Graph adapter for BatchNormalization(X, scale, B, mean, var). Training mode normalises
// with the batch statistics and computes the updated moving mean/var into staging
// buffers, copied over the initializers by commit() once the step is known to be good;
// inference mode uses them. Only the first output (Y) is produced.
#include "graph/node_op.h"
#include "ops/batch_norm/batch_norm.h"

namespace engine {

namespace {
class BatchNormNode : public NodeOp {
 public:
  explicit BatchNormNode(const Node& node) : NodeOp(node) {
    attrs_.epsilon = node.attr_float("epsilon", 1e-5f);
    attrs_.momentum = node.attr_float("momentum", 0.9f);
    if (node.outputs.size() != 1)
      fail_node("only the Y output is supported, the node has ", node.outputs.size(), " outputs");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode mode) override {
    expect_inputs(in, 5, 5);
    if (in[0].shape.size() < 2) fail_node("X must have a channel axis, got ", shape_str(in[0].shape));
    const int64_t c = in[0].shape[1];
    for (size_t i = 1; i < 5; ++i)
      if (in[i].shape != Shape{c}) fail_node("input ", i, " must have shape [", c, "], got ", shape_str(in[i].shape));
    for (const ValueDesc& d : in)
      if (d.dtype != DType::Float32) fail_node("inputs must be float32, got ", dtype_name(d.dtype));
    training_ = mode == Mode::Training;
    saved_.mean = Tensor::empty({c});
    saved_.inv_std = Tensor::empty({c});
    if (training_) {
      next_mean_ = Tensor::empty({c});
      next_var_ = Tensor::empty({c});
    }
    return {{DType::Float32, in[0].shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    if (training_) {
      moving_mean_ = in[3];
      moving_var_ = in[4];
      next_mean_.copy_from(in[3]);
      next_var_.copy_from(in[4]);
      batch_norm_forward_training(in[0], in[1], in[2], next_mean_, next_var_, attrs_, out[0], saved_);
    } else {
      batch_norm_forward_inference(in[0], in[1], in[2], in[3], in[4], attrs_, out[0]);
    }
  }

  void commit() override {
    if (!training_ || !moving_mean_.defined()) return;
    moving_mean_.copy_from(next_mean_);
    moving_var_.copy_from(next_var_);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    if (!training_) saved_ = batch_norm_frozen_stats(in[3], in[4], attrs_);
    zero_fill(din[1]);  // scale and bias gradients accumulate in the kernel
    zero_fill(din[2]);
    batch_norm_backward(dout[0], in[0], in[1], saved_, training_, din[0], din[1], din[2]);
  }

  bool differentiable_input(size_t index) const override { return index < 3; }

 private:
  BatchNormAttrs attrs_;
  BatchNormSaved saved_;
  bool training_ = false;
  Tensor next_mean_, next_var_;      // moving statistics after this step (staged)
  Tensor moving_mean_, moving_var_;  // the initializers they replace on commit
};
}  // namespace

std::unique_ptr<NodeOp> make_batch_norm_node(const Node& node) {
  return std::make_unique<BatchNormNode>(node);
}

}  // namespace engine
