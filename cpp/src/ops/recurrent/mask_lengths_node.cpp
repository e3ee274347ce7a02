// engine.MaskLengths(mask [B, T] bool) -> lengths [B] int64 (, starts [B] int64): the number
// of True steps of each row, for the sequence_lens input of RNN, LSTM and GRU, and with a
// second output the number of False steps before them. With one output every row must be
// right-padded (True steps, then False ones): the only mask a length describes. With two,
// a row may pad before its data too (its True steps one contiguous run, which the caller
// moves to the front). Any other row fails here rather than run as a different sequence.
// Computed on the host (B*T bools; the lengths are read there anyway); no gradient. ONNX
// export writes it as ReduceSum and ArgMax of Cast(mask), without the check.
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
    const ValueDesc lengths{DType::Int64, {in[0].shape[0]}};
    return std::vector<ValueDesc>(node_.outputs.size(), lengths);
  }

  void forward(const OpIO& io, const RunContext&) const override {
    const Tensor mask = io.in(0).to(Device::cpu()).contiguous();
    const int64_t B = mask.dim(0), T = mask.dim(1);
    const bool with_starts = io.num_outputs() > 1;
    Tensor lens = Tensor::empty({B}, DType::Int64), starts = Tensor::empty({B}, DType::Int64);
    const bool* m = mask.data<bool>();
    for (int64_t b = 0; b < B; ++b) {
      const bool* row = m + b * T;
      int64_t start = 0;
      if (with_starts)
        while (start < T && !row[start]) ++start;
      if (start == T) start = 0;  // no True step: an empty run at the front
      int64_t end = start;
      while (end < T && row[end]) ++end;
      for (int64_t t = end; t < T; ++t)
        if (row[t])
          fail_node("the mask of batch entry ", b, " has a masked step (", end,
                    ") before an unmasked one (", t, "): recurrent layers take ",
                    with_starts ? "one run of unmasked steps per sequence (padding before or "
                                  "after the data, not within it)"
                                : "right-padded sequences only (padding after the data)",
                    ", or unroll=True");
      lens.data<int64_t>()[b] = end - start;
      starts.data<int64_t>()[b] = start;
    }
    io.out(0).copy_from(lens);
    if (with_starts) io.out(1).copy_from(starts);
  }

  bool differentiable_input(size_t) const override { return false; }
  void backward(const OpIO&, const RunContext&) const override {}
};

std::unique_ptr<NodeOp> make_mask_lengths_node(const Node& node) {
  return std::make_unique<MaskLengthsNode>(node);
}

}  // namespace

void mask_lengths_op(OpDef& def) {
  def.schema.inputs(1, 1).outputs(1, 2);
  def.make = make_mask_lengths_node;
}

}  // namespace engine
