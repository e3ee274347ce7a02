// Graph adapter for Gemm: Y = alpha * A' * B' + beta * C (C optional, broadcast to [M, N]).
#include "graph/node_op.h"
#include "ops/gemm/gemm.h"

namespace engine {

namespace {
class GemmNode : public NodeOp {
 public:
  explicit GemmNode(const Node& node) : NodeOp(node) {
    attrs_.alpha = node.attr_float("alpha", 1.0f);
    attrs_.beta = node.attr_float("beta", 1.0f);
    attrs_.trans_a = node.attr_int("transA", 0) != 0;
    attrs_.trans_b = node.attr_int("transB", 0) != 0;
    attrs_.relu = has_fused_relu(node);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 3);
    const Tensor c = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const Shape& a = in[0].shape;
    const Shape& b = in[1].shape;
    if (a.size() != 2 || b.size() != 2)
      fail_node("A and B must be 2-D, got ", shape_str(a), " and ", shape_str(b));
    const int64_t m = attrs_.trans_a ? a[1] : a[0], ka = attrs_.trans_a ? a[0] : a[1];
    const int64_t kb = attrs_.trans_b ? b[1] : b[0], n = attrs_.trans_b ? b[0] : b[1];
    if (ka != kb) fail_node("inner dimensions differ: A' is ", m, "x", ka, ", B' is ", kb, "x", n);
    if (c.defined()) {
      const Shape& cs = c.shape();
      bool ok = cs.size() <= 2;
      if (ok && cs.size() >= 1) ok = cs.back() == n || cs.back() == 1;
      if (ok && cs.size() == 2) ok = cs[0] == m || cs[0] == 1;
      if (!ok) fail_node("C ", shape_str(cs), " does not broadcast to [", m, ", ", n, "]");
    }
    for (const ValueDesc& d : in)
      if (d.dtype != DType::Float32) fail_node("inputs must be float32, got ", dtype_name(d.dtype));
    if (attrs_.relu) dpre_ = Tensor::empty({m, n});
    return {{DType::Float32, {m, n}, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    gemm_forward(in[0], in[1], bias(in), attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    if (attrs_.relu) fused_relu_backward(dout[0], out[0], dpre_);
    const Tensor& dy = attrs_.relu ? dpre_ : dout[0];
    Tensor* da = din[0].defined() ? &din[0] : nullptr;
    Tensor* db = din[1].defined() ? &din[1] : nullptr;
    Tensor* dc = din.size() > 2 && din[2].defined() ? &din[2] : nullptr;
    if (db) zero_fill(*db);  // B and C gradients accumulate in the kernel
    if (dc) zero_fill(*dc);
    gemm_backward(dy, in[0], in[1], bias(in), attrs_, da, db, dc);
  }

 private:
  static Tensor bias(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }
  GemmAttrs attrs_;
  Tensor dpre_;  // gradient before the fused Relu
};
}  // namespace

std::unique_ptr<NodeOp> make_gemm_node(const Node& node) { return std::make_unique<GemmNode>(node); }

}  // namespace engine
