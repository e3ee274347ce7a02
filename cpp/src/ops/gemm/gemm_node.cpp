// Gemm in a graph: Y = alpha * A' * B' + beta * C (C optional, broadcast to [M, N]); a Relu
// fused by the planner rides in the GEMM epilogue.
#include "ops/activation/activation.h"
#include "ops/gemm/gemm.h"
#include "ops/op.h"

namespace engine {

namespace {
class GemmNode : public NodeOp {
 public:
  explicit GemmNode(const Node& node) : NodeOp(node) {
    attrs_.alpha = node.attr_float("alpha");
    attrs_.beta = node.attr_float("beta");
    attrs_.trans_a = node.attr_int("transA") != 0;
    attrs_.trans_b = node.attr_int("transB") != 0;
    attrs_.relu = has_fused_relu(node);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions& options) override {
    expect_inputs(in, 2, 3);
    const Tensor c = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const Shape y = gemm_output_shape(shape_only(in[0]), shape_only(in[1]), c, attrs_, node_.label());
    if (attrs_.relu && options.backward) dpre_ = add_state(y);
    return {{DType::Float32, y}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    gemm_forward(io.in(0), io.in(1), io.in(2), attrs_, io.out(0));
  }

  bool backward_reads_forward() const override { return attrs_.relu; }

  void backward(const OpIO& io, const RunContext&) const override {
    const Tensor& dy =
        gradient_before_relu(io.dout(0), io.out(0), attrs_.relu ? &io.state(dpre_) : nullptr);
    Tensor* db = io.wanted(1);
    Tensor* dc = io.wanted(2);
    if (db) zero_fill(*db);  // B and C gradients accumulate in the kernel
    if (dc) zero_fill(*dc);
    gemm_backward(dy, io.in(0), io.in(1), io.in(2), attrs_, io.wanted(0), db, dc);
  }

 private:
  GemmAttrs attrs_;
  size_t dpre_ = 0;  // state: the gradient before the fused Relu
};

std::unique_ptr<NodeOp> make_gemm_node(const Node& node) { return std::make_unique<GemmNode>(node); }
}  // namespace

void gemm_op(OpDef& def) {
  def.schema.inputs(2, 3)
      .attr("alpha", Attribute::of_float(1.0f))
      .attr("beta", Attribute::of_float(1.0f))
      .attr("transA", Attribute::of_int(0))
      .attr("transB", Attribute::of_int(0))
      .internal(kFusedActivation, Attribute::Kind::String);
  def.make = make_gemm_node;
  // Opsets < 7 flagged a broadcast C; the engine broadcasts C in every opset.
  def.onnx.legacy.push_back({"broadcast", Attribute::Kind::Int, 7});
}

}  // namespace engine
