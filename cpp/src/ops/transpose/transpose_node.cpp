// Graph adapter for Transpose (perm defaults to reversing the axes).
#include "graph/node_op.h"
#include "ops/transpose/transpose.h"

namespace engine {

namespace {
class TransposeNode : public NodeOp {
 public:
  explicit TransposeNode(const Node& node) : NodeOp(node), perm_(node.attr_ints("perm")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    if (perm_.empty())
      for (int64_t i = static_cast<int64_t>(in[0].shape.size()); i-- > 0;) perm_.push_back(i);
    return {{in[0].dtype, transpose_output_shape(in[0].shape, perm_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    transpose_forward(in[0], perm_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    transpose_backward(dout[0], perm_, din[0]);
  }

 private:
  std::vector<int64_t> perm_;
};
}  // namespace

std::unique_ptr<NodeOp> make_transpose_node(const Node& node) {
  return std::make_unique<TransposeNode>(node);
}

}  // namespace engine
