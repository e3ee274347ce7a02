// Graph adapter for MatMul (numpy semantics, batched and broadcast).
#include "graph/node_op.h"
#include "ops/matmul/matmul.h"

namespace engine {

namespace {
class MatMulNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 2);
    return {{DType::Float32, matmul_output_shape(shape_only(in[0]), shape_only(in[1])), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    matmul_forward(in[0], in[1], out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    Tensor* db = din[1].defined() ? &din[1] : nullptr;
    if (db) zero_fill(*db);  // B's gradient accumulates in the kernel
    matmul_backward(dout[0], in[0], in[1], din[0].defined() ? &din[0] : nullptr, db);
  }
};
}  // namespace

std::unique_ptr<NodeOp> make_matmul_node(const Node& node) { return std::make_unique<MatMulNode>(node); }

}  // namespace engine
