// ArgMax and ArgMin in a graph: float32 x, int64 indices, no gradient.
#include "ops/argmax/argmax.h"
#include "ops/op.h"

namespace engine {

namespace {
class ArgmaxNode : public NodeOp {
 public:
  explicit ArgmaxNode(const Node& node) : NodeOp(node) {
    attrs_.largest = node.op_type == "ArgMax";
    attrs_.axis = node.attr_int("axis");
    attrs_.keepdims = node.attr_int("keepdims") != 0;
    attrs_.select_last_index = node.attr_int("select_last_index") != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    expect_float(in, {"x"});
    return {{DType::Int64, argmax_output_shape(node_.label().c_str(), in[0].shape, attrs_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    argmax_forward(io.in(0), attrs_, io.out(0));
  }

  bool differentiable_input(size_t) const override { return false; }

  void backward(const OpIO&, const RunContext&) const override {}

 private:
  ArgmaxAttrs attrs_;
};

std::unique_ptr<NodeOp> make_argmax_node(const Node& node) {
  return std::make_unique<ArgmaxNode>(node);
}
}  // namespace

void argmax_op(OpDef& def) {
  def.schema.inputs(1, 1)
      .attr("axis", Attribute::of_int(0))
      .attr("keepdims", Attribute::of_int(1))
      .attr("select_last_index", Attribute::of_int(0));
  def.make = make_argmax_node;
}

}  // namespace engine
