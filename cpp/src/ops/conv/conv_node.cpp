// Conv in a graph: inputs X, W and an optional B; a Relu fused by the planner rides in the
// epilogue. Also the inference-time Conv + BatchNormalization (+ Relu) the planner folds.
#include <cmath>

#include "ops/activation/activation.h"
#include "ops/conv/conv.h"
#include "ops/op.h"
#include "ops/window2d_node.h"

namespace engine {

namespace {
ConvAttrs conv_attrs(const Node& node, bool relu) {
  ConvAttrs attrs;
  attrs.window = window2d_attrs_from_node(node);
  attrs.group = node.attr_int("group");
  attrs.relu = relu;
  return attrs;
}

// The base of the Conv nodes: weights kept prepared between the calls of an inference plan
// on the CPU (conv.h: prepared weights), when the inputs they come from are parameters.
class ConvNodeBase : public NodeOp {
 public:
  ConvNodeBase(const Node& node, bool relu) : NodeOp(node), attrs_(conv_attrs(node, relu)) {}

 protected:
  void plan_prepared(const ConvShape& s, bool from_parameters, const PlanOptions& options) {
    if (options.mode != Mode::Inference || options.backward || !from_parameters ||
        options.device.kind != DeviceKind::CPU)
      return;
    const int64_t floats = conv_prepared_floats(s);
    if (floats == 0) return;
    prepared_ = add_state({floats});
    tag_ = add_state({2}, DType::Int64);
    has_prepared_ = true;
  }

  void run(const OpIO& io, const Tensor& w, const Tensor& b) const {
    if (has_prepared_)
      conv_forward_prepared(io.in(0), w, b, attrs_, io.state(prepared_), io.state(tag_), io.out(0));
    else
      conv_forward(io.in(0), w, b, attrs_, io.out(0));
  }

  ConvAttrs attrs_;

 private:
  bool has_prepared_ = false;
  size_t prepared_ = 0, tag_ = 0;  // state
};

bool is_parameter(const ValueDesc& v) { return v.constant != nullptr; }

class ConvNode : public ConvNodeBase {
 public:
  explicit ConvNode(const Node& node) : ConvNodeBase(node, has_fused_relu(node)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions& options) override {
    expect_inputs(in, 2, 3);
    const Tensor b = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const ConvShape s = conv_shape(shape_only(in[0]), shape_only(in[1]), b, attrs_);
    if (attrs_.relu && options.backward) dpre_ = add_state(s.y_shape());
    plan_prepared(s, is_parameter(in[1]), options);
    return {{DType::Float32, s.y_shape()}};
  }

  void forward(const OpIO& io, const RunContext&) const override { run(io, io.in(1), io.in(2)); }

  bool backward_reads_forward() const override { return attrs_.relu; }

  void backward(const OpIO& io, const RunContext&) const override {
    const Tensor& dy =
        gradient_before_relu(io.dout(0), io.out(0), attrs_.relu ? &io.state(dpre_) : nullptr);
    Tensor* dw = io.wanted(1);
    Tensor* db = io.wanted(2);
    // The kernels accumulate weight and bias gradients; the caller wants them written.
    if (dw) zero_fill(*dw);
    if (db) zero_fill(*db);
    conv_backward(dy, io.in(0), io.in(1), attrs_, io.wanted(0), dw, db);
  }

 private:
  size_t dpre_ = 0;  // state: the gradient before the fused Relu
};

// y = conv(x, W', B') with, per output channel c, k = scale[c] / sqrt(var[c] + epsilon),
// W'[c] = W[c] * k and B'[c] = (B[c] - mean[c]) * k + bias[c]. W' and B' are per-call
// state recomputed from the live parameters (a few thousand multiplies), so training in
// between is seen.
class ConvBatchNormNode : public ConvNodeBase {
 public:
  ConvBatchNormNode(const Node& conv, const Node& batch_norm, bool relu)
      : ConvNodeBase(conv, relu), epsilon_(batch_norm.attr_float("epsilon")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in,
                              const PlanOptions& options) override {
    expect_inputs(in, 7, 7);
    const Tensor b = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const ConvShape s = conv_shape(shape_only(in[0]), shape_only(in[1]), b, attrs_);
    for (size_t i = 3; i < 7; ++i)
      if (in[i].dtype != DType::Float32 || in[i].shape != Shape{s.OC})
        fail_node("batch normalization input ", i - 2, " must be float32 [", s.OC, "], got ",
                  dtype_name(in[i].dtype), shape_str(in[i].shape));
    folded_w_ = add_state(in[1].shape);
    folded_b_ = add_state({s.OC});
    // W' reads W, scale and var.
    plan_prepared(s, is_parameter(in[1]) && is_parameter(in[3]) && is_parameter(in[6]), options);
    return {{DType::Float32, s.y_shape()}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    Tensor& folded_w = io.state(folded_w_);
    Tensor& folded_b = io.state(folded_b_);
    const int64_t oc = folded_b.numel(), per_channel = folded_w.numel() / oc;
    const float* w = io.in(1).data<float>();
    const float* b = io.in(2).defined() ? io.in(2).data<float>() : nullptr;
    const float *scale = io.in(3).data<float>(), *bias = io.in(4).data<float>();
    const float *mean = io.in(5).data<float>(), *var = io.in(6).data<float>();
    float* fw = folded_w.data<float>();
    float* fb = folded_b.data<float>();
    for (int64_t c = 0; c < oc; ++c) {
      const double k = double(scale[c]) / std::sqrt(double(var[c]) + double(epsilon_));
      for (int64_t i = 0; i < per_channel; ++i)
        fw[c * per_channel + i] = static_cast<float>(w[c * per_channel + i] * k);
      fb[c] = static_cast<float>(((b ? double(b[c]) : 0.0) - double(mean[c])) * k + double(bias[c]));
    }
    run(io, folded_w, folded_b);
  }

 private:
  float epsilon_;
  size_t folded_w_ = 0, folded_b_ = 0;  // state
};

std::unique_ptr<NodeOp> make_conv_node(const Node& node) { return std::make_unique<ConvNode>(node); }
}  // namespace

std::unique_ptr<NodeOp> make_conv_batch_norm_node(const Node& conv, const Node& batch_norm,
                                                  bool relu) {
  return std::make_unique<ConvBatchNormNode>(conv, batch_norm, relu);
}

void conv_op(OpDef& def) {
  def.schema.inputs(2, 3);
  add_window2d_attrs(def.schema, /*pooling=*/false);
  def.schema.attr("group", Attribute::of_int(1)).internal(kFusedActivation, Attribute::Kind::String);
  def.make = make_conv_node;
}

}  // namespace engine
