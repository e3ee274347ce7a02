// Graph adapter for Sum(x_0, ..., x_{n-1}) with numpy broadcasting.
#include "graph/node_op.h"
#include "ops/sum/sum.h"

namespace engine {

namespace {
class SumNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    if (in.empty()) fail_node("needs at least one input");
    std::vector<Shape> shapes;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].present) fail_node("input ", i, " is empty; Sum has no optional inputs");
      if (in[i].dtype != DType::Float32) fail_node("inputs must be float32, got ", dtype_name(in[i].dtype));
      shapes.push_back(in[i].shape);
    }
    return {{DType::Float32, sum_output_shape(shapes), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    sum_forward(in, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    std::vector<Tensor*> dxs;
    for (Tensor& d : din) dxs.push_back(d.defined() ? &d : nullptr);
    sum_backward(dout[0], in, dxs);
  }
};
}  // namespace

std::unique_ptr<NodeOp> make_sum_node(const Node& node) { return std::make_unique<SumNode>(node); }

}  // namespace engine
