// Graph adapter for Conv: inputs X, W and an optional B.
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
}  // namespace

std::unique_ptr<NodeOp> make_conv_node(const Node& node) { return std::make_unique<ConvNode>(node); }

}  // namespace engine
