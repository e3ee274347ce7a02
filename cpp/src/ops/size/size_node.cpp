// ONNX Size(x): the number of elements of x, an int64 scalar. Known once the graph is
// planned (x's shape), so the run only writes it; the importer folds it where x's shape is
// fixed, and keeps the node where it follows the batch. Any dtype; no gradient.
#include "ops/op.h"

namespace engine {

namespace {
class SizeNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    numel_ = shape_numel(in[0].shape);
    return {{DType::Int64, {}}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    Tensor value = Tensor::empty({}, DType::Int64);
    value.data<int64_t>()[0] = numel_;
    io.out(0).copy_from(value);
  }

  bool differentiable_input(size_t) const override { return false; }
  void backward(const OpIO&, const RunContext&) const override {}

 private:
  int64_t numel_ = 0;
};

std::unique_ptr<NodeOp> make_size_node(const Node& node) { return std::make_unique<SizeNode>(node); }
}  // namespace

void size_op(OpDef& def) {
  def.schema.inputs(1, 1);
  def.make = make_size_node;
}

}  // namespace engine
