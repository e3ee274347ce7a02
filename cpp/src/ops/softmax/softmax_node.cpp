// Graph adapter for Softmax and LogSoftmax (opset 13 semantics). The ONNX importer marks
// nodes from opsets < 13 with the internal attribute engine_coerce_2d: those flatten the
// input to 2-D at `axis`, whose default there is 1.
#include "graph/node_op.h"
#include "ops/softmax/softmax.h"

namespace engine {

namespace {
constexpr const char* kCoerce2d = "engine_coerce_2d";

class SoftmaxNode : public NodeOp {
 public:
  explicit SoftmaxNode(const Node& node)
      : NodeOp(node),
        kind_(node.op_type == "LogSoftmax" ? SoftmaxKind::LogSoftmax : SoftmaxKind::Softmax) {
    attrs_.coerce_2d = node.attr_int(kCoerce2d, 0) != 0;
    attrs_.axis = node.attr_int("axis", attrs_.coerce_2d ? 1 : -1);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    if (in[0].dtype != DType::Float32) fail_node("input must be float32, got ", dtype_name(in[0].dtype));
    softmax_geometry(in[0].shape, attrs_, node_.label().c_str());
    return {{DType::Float32, in[0].shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    softmax_forward(kind_, in[0], attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>& out,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    softmax_backward(kind_, dout[0], out[0], attrs_, din[0]);
  }

 private:
  SoftmaxKind kind_;
  SoftmaxAttrs attrs_;
};
}  // namespace

std::unique_ptr<NodeOp> make_softmax_node(const Node& node) {
  return std::make_unique<SoftmaxNode>(node);
}

}  // namespace engine
