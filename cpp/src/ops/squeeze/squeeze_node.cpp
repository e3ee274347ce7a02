// Graph adapter for Squeeze(data[, axes]), size-1 dims removed. The axes come from a
// constant int64 input (opset >= 13) or, for graphs written against older opsets, the
// `axes` attribute. Backward reshapes dy back to the input's shape.
#include "graph/node_op.h"
#include "ops/reshape/reshape.h"
#include "ops/squeeze/squeeze.h"

namespace engine {

namespace {
class SqueezeNode : public NodeOp {
 public:
  explicit SqueezeNode(const Node& node) : NodeOp(node), axes_(node.attr_ints("axes")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 2);
    if (has_input(in, 1)) {
      if (!in[1].constant) fail_node("the axes input must be a constant (computed axes are not supported)");
      if (in[1].dtype != DType::Int64 || in[1].shape.size() != 1)
        fail_node("the axes input must be a 1-D int64 tensor, got ", in[1].constant->describe());
      const int64_t* a = in[1].constant->data<int64_t>();
      axes_.assign(a, a + in[1].shape[0]);
    }
    return {{in[0].dtype, squeeze_output_shape(in[0].shape, axes_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    squeeze_forward(in[0], axes_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    reshape_backward(dout[0], din[0]);
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  std::vector<int64_t> axes_;
};
}  // namespace

std::unique_ptr<NodeOp> make_squeeze_node(const Node& node) { return std::make_unique<SqueezeNode>(node); }

}  // namespace engine
