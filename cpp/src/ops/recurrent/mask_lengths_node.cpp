// engine.MaskLengths(mask [B, T] bool) -> lengths [B] int64: the number of True steps of each
// row, for the sequence_lens input of RNN, LSTM and GRU. Those take right-padded sequences
// (every True step before every False one), which is the only mask a length describes: any
// other row fails here rather than run as a different sequence. Computed on the host (B*T
// bools; the lengths are read there anyway); no gradient. ONNX export writes it as
// ReduceSum(Cast(mask)), without the check.
#include "ops/op.h"

namespace engine {

namespace {

class MaskLengthsNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    if (in[0].dtype != DType::Bool)
      fail(ErrorKind::Type, node_.label(), ": mask must be bool, got ", dtype_name(in[0].dtype));
    if (in[0].shape.size() != 2)
      fail_node("mask must be [batch, steps], got rank ", in[0].shape.size());
    return {{DType::Int64, {in[0].shape[0]}}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    const Tensor mask = io.in(0).to(Device::cpu()).contiguous();
    const int64_t B = mask.dim(0), T = mask.dim(1);
    Tensor lens = Tensor::empty({B}, DType::Int64);
    const bool* m = mask.data<bool>();
    for (int64_t b = 0; b < B; ++b) {
      int64_t n = 0;
      while (n < T && m[b * T + n]) ++n;
      for (int64_t t = n; t < T; ++t)
        if (m[b * T + t])
          fail_node("the mask of batch entry ", b, " has a masked step (", n,
                    ") before an unmasked one (", t,
                    "): recurrent layers take right-padded sequences only (padding after the "
                    "data, as pad_sequences(..., padding='post') makes), or unroll=True");
      lens.data<int64_t>()[b] = n;
    }
    io.out(0).copy_from(lens);
  }

  bool differentiable_input(size_t) const override { return false; }
  void backward(const OpIO&, const RunContext&) const override {}
};

std::unique_ptr<NodeOp> make_mask_lengths_node(const Node& node) {
  return std::make_unique<MaskLengthsNode>(node);
}

}  // namespace

void mask_lengths_op(OpDef& def) {
  def.schema.inputs(1, 1);
  def.make = make_mask_lengths_node;
}

}  // namespace engine
