// Graph adapter for Conv: inputs X, W and an optional B.
#include <cmath>

#include "graph/node_op.h"
#include "ops/conv/conv.h"
#include "ops/window2d_node.h"

namespace engine {

namespace {
class ConvNode : public NodeOp {
 public:
  explicit ConvNode(const Node& node) : NodeOp(node) {
    attrs_.window = window2d_attrs_from_node(node);
    attrs_.group = node.attr_int("group", 1);
    attrs_.relu = has_fused_relu(node);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 3);
    const Tensor b = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const ConvShape s = conv_shape(shape_only(in[0]), shape_only(in[1]), b, attrs_);
    if (attrs_.relu) dpre_ = Tensor::empty(s.y_shape());
    return {{DType::Float32, s.y_shape(), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    conv_forward(in[0], in[1], bias(in), attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    if (attrs_.relu) fused_relu_backward(dout[0], out[0], dpre_);
    const Tensor& dy = attrs_.relu ? dpre_ : dout[0];
    Tensor* dx = din[0].defined() ? &din[0] : nullptr;
    Tensor* dw = din[1].defined() ? &din[1] : nullptr;
    Tensor* db = din.size() > 2 && din[2].defined() ? &din[2] : nullptr;
    // The kernels accumulate weight and bias gradients; the executor wants them written.
    if (dw) zero_fill(*dw);
    if (db) zero_fill(*db);
    conv_backward(dy, in[0], in[1], attrs_, dx, dw, db);
  }

 private:
  static Tensor bias(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }
  ConvAttrs attrs_;
  Tensor dpre_;  // gradient before the fused Relu
};
// Inference-time Conv + BatchNormalization (+ Relu): y = conv(x, W', B') with, per output
// channel c, k = scale[c] / sqrt(var[c] + epsilon), W'[c] = W[c] * k and
// B'[c] = (B[c] - mean[c]) * k + bias[c]. W' and B' are recomputed from the live
// parameters on every call (a few thousand multiplies), so training in between is seen.
class ConvBatchNormNode : public NodeOp {
 public:
  ConvBatchNormNode(const Node& conv, const Node& batch_norm, bool relu) : NodeOp(conv) {
    attrs_.window = window2d_attrs_from_node(conv);
    attrs_.group = conv.attr_int("group", 1);
    attrs_.relu = relu;
    epsilon_ = batch_norm.attr_float("epsilon", 1e-5f);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 7, 7);
    const Tensor b = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const ConvShape s = conv_shape(shape_only(in[0]), shape_only(in[1]), b, attrs_);
    for (size_t i = 3; i < 7; ++i)
      if (in[i].dtype != DType::Float32 || in[i].shape != Shape{s.OC})
        fail_node("batch normalization input ", i - 2, " must be float32 [", s.OC, "], got ",
                  dtype_name(in[i].dtype), shape_str(in[i].shape));
    folded_w_ = Tensor::empty(in[1].shape);
    folded_b_ = Tensor::empty({s.OC});
    return {{DType::Float32, s.y_shape(), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    const int64_t oc = folded_b_.numel(), per_channel = folded_w_.numel() / oc;
    const float* w = in[1].data<float>();
    const float* b = in[2].defined() ? in[2].data<float>() : nullptr;
    const float *scale = in[3].data<float>(), *bias = in[4].data<float>();
    const float *mean = in[5].data<float>(), *var = in[6].data<float>();
    float* fw = folded_w_.data<float>();
    float* fb = folded_b_.data<float>();
    for (int64_t c = 0; c < oc; ++c) {
      const double k = double(scale[c]) / std::sqrt(double(var[c]) + double(epsilon_));
      for (int64_t i = 0; i < per_channel; ++i)
        fw[c * per_channel + i] = static_cast<float>(w[c * per_channel + i] * k);
      fb[c] = static_cast<float>(((b ? double(b[c]) : 0.0) - double(mean[c])) * k + double(bias[c]));
    }
    conv_forward(in[0], folded_w_, folded_b_, attrs_, out[0]);
  }

 private:
  ConvAttrs attrs_;
  float epsilon_ = 1e-5f;
  Tensor folded_w_, folded_b_;
};
}  // namespace

std::unique_ptr<NodeOp> make_conv_batch_norm_node(const Node& conv, const Node& batch_norm,
                                                  bool relu) {
  return std::make_unique<ConvBatchNormNode>(conv, batch_norm, relu);
}

std::unique_ptr<NodeOp> make_conv_node(const Node& node) { return std::make_unique<ConvNode>(node); }

}  // namespace engine
