// CumSum(x, axis) and CumProd(x, axis) in a graph: the axis is a constant, read at plan time.
// CumProd's backward reads x.
#include "ops/cumsum/cumsum.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"

namespace engine {

namespace {
class CumSumNode : public NodeOp {
 public:
  explicit CumSumNode(const Node& node) : NodeOp(node) {
    attrs_.exclusive = node.attr_int("exclusive") != 0;
    attrs_.reverse = node.attr_int("reverse") != 0;
    attrs_.product = node.op_type == "CumProd";
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": x must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (in[0].shape.empty()) fail_node("x must have rank >= 1, got a scalar");
    if (!in[1].constant) fail_node("axis must be known when the graph is planned");
    if (in[1].dtype != DType::Int64 || in[1].constant->numel() != 1 || in[1].shape.size() > 1)
      fail(ErrorKind::Type, node_.label(), ": axis must be an int64 scalar, got ",
           in[1].constant->describe());
    attrs_.axis = in[1].constant->to(Device::cpu()).data<int64_t>()[0];
    const int rank = static_cast<int>(in[0].shape.size());
    if (attrs_.axis < -rank || attrs_.axis >= rank)
      fail_node("axis ", attrs_.axis, " out of range for rank ", rank);
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    cumsum_forward(io.in(0), attrs_, io.out(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (Tensor* dx = io.wanted(0)) cumsum_backward(io.dout(0), io.in(0), attrs_, *dx);
  }

 private:
  CumSumAttrs attrs_;
};

std::unique_ptr<NodeOp> make_cumsum_node(const Node& node) {
  return std::make_unique<CumSumNode>(node);
}

void cumprod_to_opset(Node& node, OnnxExportContext& ctx) {
  if (ctx.opset() < 26) ctx.fail("CumProd exists from opset 26");
}
}  // namespace

void cumsum_op(OpDef& def) {
  def.schema.inputs(2, 2)
      .attr("exclusive", Attribute::of_int(0))
      .attr("reverse", Attribute::of_int(0));
  def.make = make_cumsum_node;
  def.onnx.since_opset = def.op_type == "CumProd" ? 26 : 11;
  if (def.op_type == "CumProd") def.onnx.to_opset = cumprod_to_opset;
}

}  // namespace engine
