// Clip(input[, min][, max]) in a graph (opset 11 form; older files are translated,
// clip_onnx.cpp). The bounds may be constants or values computed at run time; either way
// they are scalars.
#include "ops/clip/clip.h"
#include "ops/op.h"

namespace engine {

namespace {
class ClipNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 3);
    expect_float(in, {"x", "min", "max"});
    for (size_t i = 1; i < in.size(); ++i)
      if (in[i].present && shape_numel(in[i].shape) != 1)
        fail_node(i == 1 ? "min" : "max", " must be a scalar, got ", shape_str(in[i].shape));
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    clip_forward(io.in(0), bounds(io), io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    clip_backward(io.dout(0), io.in(0), bounds(io), io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  ClipBounds bounds(const OpIO& io) const { return clip_bounds(io.in(1), io.in(2), node_.label()); }
};

std::unique_ptr<NodeOp> make_clip_node(const Node& node) { return std::make_unique<ClipNode>(node); }
}  // namespace

void clip_op(OpDef& def) {
  def.schema.inputs(1, 3);
  def.make = make_clip_node;
  def.onnx.legacy = {{"min", Attribute::Kind::Float, 11},
                     {"max", Attribute::Kind::Float, 11},
                     {"consumed_inputs", Attribute::Kind::Ints, 6}};
  def.onnx.translate = translate_clip_onnx;
}

}  // namespace engine
