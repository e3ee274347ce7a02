// Cast in a graph: the `to` attribute picks the output dtype; only float32 -> float32
// carries a gradient (a copy).
#include "ops/cast/cast.h"
#include "ops/op.h"

namespace engine {

namespace {
class CastNode : public NodeOp {
 public:
  explicit CastNode(const Node& node) : NodeOp(node) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    to_ = cast_target(node_.label().c_str(), node_.attr_int("to"));
    float_ = in[0].dtype == DType::Float32 && to_ == DType::Float32;
    return {{to_, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    cast_forward(io.in(0), io.out(0));
  }

  bool differentiable_input(size_t) const override { return float_; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    if (!float_) fail_node("only a float32 -> float32 cast has a gradient");
    if (Tensor* dx = io.wanted(0)) dx->copy_from(io.dout(0));
  }

 private:
  DType to_ = DType::Float32;
  bool float_ = false;
};

std::unique_ptr<NodeOp> make_cast_node(const Node& node) {
  return std::make_unique<CastNode>(node);
}
}  // namespace

void cast_op(OpDef& def) {
  def.schema.required("to", Attribute::Kind::Int)
      // Float8 targets only (opset 19); the engine holds none.
      .attr("saturate", Attribute::of_int(1));
  def.make = make_cast_node;
}

}  // namespace engine
