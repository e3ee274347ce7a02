// GatherElements in a graph: data (float32) and indices (int64, no gradient).
#include "ops/gather_elements/gather_elements.h"
#include "ops/op.h"

namespace engine {

namespace {
class GatherElementsNode : public NodeOp {
 public:
  explicit GatherElementsNode(const Node& node) : NodeOp(node), axis_(node.attr_int("axis")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    expect_float({in[0]}, {"data"});
    if (in[1].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": indices must be int64, got ",
           dtype_name(in[1].dtype));
    gather_elements_layout(node_.label().c_str(), in[0].shape, in[1].shape, axis_);
    return {{DType::Float32, in[1].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    gather_elements_forward(io.in(0), io.in(1), axis_, io.out(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (Tensor* ddata = io.wanted(0)) gather_elements_backward(io.dout(0), io.in(1), axis_, *ddata);
  }

 private:
  int64_t axis_;
};

std::unique_ptr<NodeOp> make_gather_elements_node(const Node& node) {
  return std::make_unique<GatherElementsNode>(node);
}
}  // namespace

void gather_elements_op(OpDef& def) {
  def.schema.inputs(2, 2).attr("axis", Attribute::of_int(0));
  def.make = make_gather_elements_node;
  def.onnx.since_opset = 11;
}

}  // namespace engine
