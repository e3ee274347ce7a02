// Trilu(x, k?) in a graph: k is a constant, read at plan time.
#include "ops/op.h"
#include "ops/trilu/trilu.h"

namespace engine {

namespace {
class TriluNode : public NodeOp {
 public:
  explicit TriluNode(const Node& node) : NodeOp(node) {
    attrs_.upper = node.attr_int("upper") != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 2);
    expect_float({in[0]}, {"x"});
    if (in[0].shape.size() < 2) fail_node("x must have rank >= 2, got ", shape_str(in[0].shape));
    attrs_.k = 0;
    if (has_input(in, 1)) {
      if (!in[1].constant) fail_node("k must be known when the graph is planned");
      if (in[1].dtype != DType::Int64 || in[1].constant->numel() != 1)
        fail(ErrorKind::Type, node_.label(), ": k must be an int64 scalar, got ",
             in[1].constant->describe());
      attrs_.k = in[1].constant->to(Device::cpu()).data<int64_t>()[0];
    }
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    trilu_apply(io.in(0), attrs_, io.out(0), "Trilu");
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (Tensor* dx = io.wanted(0)) trilu_apply(io.dout(0), attrs_, *dx, "Trilu_backward");
  }

 private:
  TriluAttrs attrs_;
};

std::unique_ptr<NodeOp> make_trilu_node(const Node& node) {
  return std::make_unique<TriluNode>(node);
}
}  // namespace

void trilu_op(OpDef& def) {
  def.schema.inputs(1, 2).attr("upper", Attribute::of_int(1));
  def.make = make_trilu_node;
  def.onnx.since_opset = 14;
}

}  // namespace engine
