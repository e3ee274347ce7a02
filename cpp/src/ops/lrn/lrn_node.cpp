// LRN(X) -> Y in a graph (attributes size, alpha, beta, bias).
#include "ops/lrn/lrn.h"
#include "ops/op.h"

namespace engine {

namespace {
class LrnNode : public NodeOp {
 public:
  explicit LrnNode(const Node& node) : NodeOp(node) {
    attrs_.size = node.attr_int("size");
    attrs_.alpha = node.attr_float("alpha");
    attrs_.beta = node.attr_float("beta");
    attrs_.bias = node.attr_float("bias");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    expect_float(in, {"x"});
    lrn_geometry(in[0].shape, attrs_, node_.label().c_str());
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    lrn_forward(io.in(0), attrs_, io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    lrn_backward(io.dout(0), io.in(0), attrs_, io.din(0));
  }

 private:
  LrnAttrs attrs_;
};

std::unique_ptr<NodeOp> make_lrn_node(const Node& node) { return std::make_unique<LrnNode>(node); }
}  // namespace

void lrn_op(OpDef& def) {
  def.schema.required("size", Attribute::Kind::Int)
      .attr("alpha", Attribute::of_float(1e-4f))
      .attr("beta", Attribute::of_float(0.75f))
      .attr("bias", Attribute::of_float(1.0f));
  def.make = make_lrn_node;
}

}  // namespace engine
