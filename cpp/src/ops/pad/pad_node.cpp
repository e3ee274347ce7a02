// Pad(data, pads, constant_value?, axes?) in a graph: pads, the value and the axes are
// constants, read at plan time.
#include "ops/common.h"
#include "ops/op.h"
#include "ops/pad/pad.h"

namespace engine {

namespace {
class PadNode : public NodeOp {
 public:
  explicit PadNode(const Node& node)
      : NodeOp(node), mode_(pad_mode(node.attr_string("mode"), node.label().c_str())) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 4);
    if (in[0].dtype != DType::Float32)
      fail(ErrorKind::Type, node_.label(), ": data must be float32, got ",
           dtype_name(in[0].dtype));
    std::vector<int64_t> pads = constant_int64s(in, 1, "pads");
    const int rank = static_cast<int>(in[0].shape.size());
    if (in.size() > 3 && in[3].present) {  // opset 18: the pads of the listed axes only
      const std::vector<int64_t> axes = constant_int64s(in, 3, "axes");
      if (pads.size() != 2 * axes.size())
        fail_node("pads ", shape_str(pads), " must hold 2 values per axis of ", shape_str(axes));
      std::vector<int64_t> full(2 * rank, 0);
      std::vector<char> seen(rank, 0);
      for (size_t k = 0; k < axes.size(); ++k) {
        const int d = normalize_axis(axes[k], rank, node_.label().c_str());
        if (seen[d]++) fail_node("axes ", shape_str(axes), " repeat axis ", d);
        full[d] = pads[k];
        full[d + rank] = pads[k + axes.size()];
      }
      pads = full;
    }
    value_ = 0.0f;
    if (in.size() > 2 && in[2].present) value_ = constant_float(in, 2, "constant_value");
    geometry_ = pad_geometry(in[0].shape, pads, mode_, node_.label().c_str());
    return {{DType::Float32, pad_output_shape(geometry_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    pad_forward(io.in(0), geometry_, value_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    pad_backward(io.dout(0), geometry_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  PadMode mode_;
  PadGeometry geometry_;
  float value_ = 0.0f;
};

std::unique_ptr<NodeOp> make_pad_node(const Node& node) { return std::make_unique<PadNode>(node); }
}  // namespace

void pad_op(OpDef& def) {
  def.schema.inputs(2, 4).attr("mode", Attribute::of_string("constant"));
  def.make = make_pad_node;
  def.onnx.since_opset = 11;
}

}  // namespace engine
