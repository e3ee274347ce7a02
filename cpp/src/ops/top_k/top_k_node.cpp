// TopK(x, k) in a graph: k is a constant, read at plan time. The backward reads the indices
// the forward found (the second output).
#include "ops/op.h"
#include "ops/top_k/top_k.h"

namespace engine {

namespace {
class TopKNode : public NodeOp {
 public:
  explicit TopKNode(const Node& node) : NodeOp(node) {
    attrs_.axis = node.attr_int("axis");
    attrs_.largest = node.attr_int("largest") != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": x must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (!in[1].constant) fail_node("k must be known when the graph is planned");
    if (in[1].dtype != DType::Int64 || in[1].constant->numel() != 1 || in[1].shape.size() > 1)
      fail(ErrorKind::Type, node_.label(), ": k must be an int64 scalar or 1-element tensor, got ",
           in[1].constant->describe());
    attrs_.k = in[1].constant->to(Device::cpu()).data<int64_t>()[0];
    const Shape out = top_k_output_shape(in[0].shape, attrs_, "TopK");
    return {{in[0].dtype, out}, {DType::Int64, out}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    top_k_forward(io.in(0), attrs_, io.out(0), io.out(1));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (Tensor* dx = io.wanted(0)) top_k_backward(io.dout(0), io.out(1), attrs_, *dx);
  }

 private:
  TopKAttrs attrs_;
};

std::unique_ptr<NodeOp> make_top_k_node(const Node& node) {
  return std::make_unique<TopKNode>(node);
}
}  // namespace

void top_k_op(OpDef& def) {
  def.schema.inputs(2, 2)
      .outputs(2, 2)
      .attr("axis", Attribute::of_int(-1))
      .attr("largest", Attribute::of_int(1))
      .attr("sorted", Attribute::of_int(1));
  def.make = make_top_k_node;
  def.onnx.legacy.push_back({"k", Attribute::Kind::Int, 10});
  def.onnx.translate = translate_top_k_onnx;
}

}  // namespace engine
