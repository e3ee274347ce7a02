// Sum(x_0, ..., x_{n-1}) in a graph, with numpy broadcasting.
#include "ops/op.h"
#include "ops/sum/sum.h"

namespace engine {

namespace {
class SumNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    if (in.empty()) fail_node("needs at least one input");
    std::vector<Shape> shapes;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].present) fail_node("input ", i, " is empty; Sum has no optional inputs");
      shapes.push_back(in[i].shape);
    }
    expect_float(in, {});
    return {{DType::Float32, sum_output_shape(shapes)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    sum_forward(io.input_list(), io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    std::vector<Tensor*> dxs;
    for (size_t i = 0; i < io.num_inputs(); ++i) dxs.push_back(io.wanted(i));
    sum_backward(io.dout(0), io.input_list(), dxs);
  }
};

std::unique_ptr<NodeOp> make_sum_node(const Node& node) { return std::make_unique<SumNode>(node); }
}  // namespace

void sum_op(OpDef& def) {
  def.schema.inputs(1, -1);
  def.make = make_sum_node;
  def.onnx.legacy.push_back({"consumed_inputs", Attribute::Kind::Ints, 6});
}

}  // namespace engine
