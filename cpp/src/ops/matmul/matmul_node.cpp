// MatMul in a graph (numpy semantics, batched and broadcast).
#include "ops/matmul/matmul.h"
#include "ops/op.h"

namespace engine {

namespace {
class MatMulNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    return {{DType::Float32, matmul_output_shape(shape_only(in[0]), shape_only(in[1]))}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    matmul_forward(io.in(0), io.in(1), io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    Tensor* db = io.wanted(1);
    if (db) zero_fill(*db);  // B's gradient accumulates in the kernel
    matmul_backward(io.dout(0), io.in(0), io.in(1), io.wanted(0), db);
  }
};

std::unique_ptr<NodeOp> make_matmul_node(const Node& node) { return std::make_unique<MatMulNode>(node); }
}  // namespace

void matmul_op(OpDef& def) {
  def.schema.inputs(2, 2);
  def.make = make_matmul_node;
}

}  // namespace engine
