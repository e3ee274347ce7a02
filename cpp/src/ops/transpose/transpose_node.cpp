// Transpose in a graph (perm defaults to reversing the axes).
#include "ops/op.h"
#include "ops/transpose/transpose.h"

namespace engine {

namespace {
class TransposeNode : public NodeOp {
 public:
  explicit TransposeNode(const Node& node) : NodeOp(node), perm_(node.attr_ints("perm")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    perm_ = transpose_perm(perm_, static_cast<int>(in[0].shape.size()));
    return {{in[0].dtype, transpose_output_shape(in[0].shape, perm_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    transpose_forward(io.in(0), perm_, io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    transpose_backward(io.dout(0), perm_, io.din(0));
  }

 private:
  std::vector<int64_t> perm_;
};

std::unique_ptr<NodeOp> make_transpose_node(const Node& node) {
  return std::make_unique<TransposeNode>(node);
}
}  // namespace

void transpose_op(OpDef& def) {
  def.schema.optional("perm", Attribute::Kind::Ints);
  def.make = make_transpose_node;
}

}  // namespace engine
