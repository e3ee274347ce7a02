// Graph adapter for LRN(X) -> Y (attributes size, alpha, beta, bias).
#include "graph/node_op.h"
#include "ops/lrn/lrn.h"

namespace engine {

namespace {
class LrnNode : public NodeOp {
 public:
  explicit LrnNode(const Node& node) : NodeOp(node) {
    if (!node.has_attr("size")) fail_node("the size attribute is required");
    attrs_.size = node.attr_int("size", 0);
    attrs_.alpha = node.attr_float("alpha", attrs_.alpha);
    attrs_.beta = node.attr_float("beta", attrs_.beta);
    attrs_.bias = node.attr_float("bias", attrs_.bias);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    if (in[0].dtype != DType::Float32) fail_node("input must be float32, got ", dtype_name(in[0].dtype));
    lrn_geometry(in[0].shape, attrs_, node_.label().c_str());
    return {{DType::Float32, in[0].shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    lrn_forward(in[0], attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    lrn_backward(dout[0], in[0], attrs_, din[0]);
  }

 private:
  LrnAttrs attrs_;
};
}  // namespace

std::unique_ptr<NodeOp> make_lrn_node(const Node& node) { return std::make_unique<LrnNode>(node); }

}  // namespace engine
