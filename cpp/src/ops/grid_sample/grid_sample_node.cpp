// GridSample in a graph: X and grid (float32), both differentiable.
#include "ops/grid_sample/grid_sample.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"

namespace engine {

namespace {
class GridSampleNode : public NodeOp {
 public:
  explicit GridSampleNode(const Node& node)
      : NodeOp(node),
        mode_(grid_sample_mode(node.attr_string("mode"), node.label().c_str())),
        padding_(grid_sample_padding(node.attr_string("padding_mode"), node.label().c_str())),
        align_corners_(node.attr_int("align_corners") != 0) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    expect_float(in, {"X", "grid"});
    geometry_ = grid_sample_geometry(in[0].shape, in[1].shape, mode_, padding_, align_corners_,
                                     node_.label().c_str());
    return {{DType::Float32, grid_sample_output_shape(in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    grid_sample_forward(io.in(0), io.in(1), geometry_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    grid_sample_backward(io.in(0), io.in(1), io.dout(0), geometry_, io.wanted(0), io.wanted(1));
  }

 private:
  GridSampleMode mode_;
  GridSamplePadding padding_;
  bool align_corners_;
  GridSampleGeometry geometry_;
};

std::unique_ptr<NodeOp> make_grid_sample_node(const Node& node) {
  return std::make_unique<GridSampleNode>(node);
}

// Opsets 16-19 name the modes bilinear and bicubic and sample 2 spatial dims only.
void translate_grid_sample_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 20 || !node.has_attr("mode")) return;
  const std::string mode = node.attr_string("mode");
  if (mode == "bilinear") node.attrs["mode"] = Attribute::of_string("linear");
  if (mode == "bicubic") node.attrs["mode"] = Attribute::of_string("cubic");
  if (mode == "linear" || mode == "cubic")
    ctx.fail(str("mode '", mode, "' is opset 20's name (opset ", ctx.opset(),
                 " has bilinear, nearest and bicubic)"));
}

void grid_sample_to_opset(Node& node, OnnxExportContext& ctx) {
  if (ctx.opset() >= 20) return;
  const std::string mode = node.attr_string("mode", "linear");
  node.attrs["mode"] = Attribute::of_string(mode == "linear"  ? "bilinear"
                                            : mode == "cubic" ? "bicubic"
                                                              : mode);
}
}  // namespace

void grid_sample_op(OpDef& def) {
  def.schema.inputs(2, 2)
      .attr("mode", Attribute::of_string("linear"))
      .attr("padding_mode", Attribute::of_string("zeros"))
      .attr("align_corners", Attribute::of_int(0));
  def.make = make_grid_sample_node;
  def.onnx.since_opset = 16;
  def.onnx.translate = translate_grid_sample_onnx;
  def.onnx.to_opset = grid_sample_to_opset;
}

}  // namespace engine
