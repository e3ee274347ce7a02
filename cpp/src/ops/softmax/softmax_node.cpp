// Softmax and LogSoftmax in a graph (opset 13 semantics; engine_coerce_2d marks the 2-D
// coercion of older opsets, see softmax_onnx.cpp).
#include "ops/op.h"
#include "ops/softmax/softmax.h"

namespace engine {

namespace {
class SoftmaxNode : public NodeOp {
 public:
  explicit SoftmaxNode(const Node& node)
      : NodeOp(node),
        kind_(node.op_type == "LogSoftmax" ? SoftmaxKind::LogSoftmax : SoftmaxKind::Softmax) {
    attrs_.coerce_2d = node.attr_int(kSoftmaxCoerce2d, 0) != 0;
    attrs_.axis = node.attr_int("axis");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    expect_float(in, {"x"});
    softmax_geometry(in[0].shape, attrs_, node_.label().c_str());
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    softmax_forward(kind_, io.in(0), attrs_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    softmax_backward(kind_, io.dout(0), io.out(0), attrs_, io.din(0));
  }

 private:
  SoftmaxKind kind_;
  SoftmaxAttrs attrs_;
};

std::unique_ptr<NodeOp> make_softmax_node(const Node& node) {
  return std::make_unique<SoftmaxNode>(node);
}
}  // namespace

void softmax_op(OpDef& def) {
  def.schema.attr("axis", Attribute::of_int(-1)).internal(kSoftmaxCoerce2d, Attribute::Kind::Int);
  def.make = make_softmax_node;
  def.onnx.translate = translate_softmax_onnx;
}

}  // namespace engine
