// Resize(X, roi?, scales?, sizes?) in a graph: exactly one of scales (float32) and sizes
// (int64) is given, a constant read at plan time (an empty tensor counts as absent, as
// opset 11 files give it); roi, a constant too, only matters to tf_crop_and_resize. The
// axes attribute (opset 18) lists the dims they are for; the others keep their size.
#include <cmath>

#include "ops/common.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"
#include "ops/resize/resize.h"

namespace engine {

namespace {
bool given(const std::vector<ValueDesc>& in, size_t i) {
  return has_input(in, i) && shape_numel(in[i].shape) != 0;
}

class ResizeNode : public NodeOp {
 public:
  explicit ResizeNode(const Node& node)
      : NodeOp(node),
        mode_(resize_mode(node.attr_string("mode"), node.label().c_str())),
        coord_(
            resize_coord(node.attr_string("coordinate_transformation_mode"), node.label().c_str())),
        nearest_(resize_nearest(node.attr_string("nearest_mode"), node.label().c_str())),
        policy_(node.attr_string("keep_aspect_ratio_policy")) {
    if (policy_ != "stretch" && policy_ != "not_larger" && policy_ != "not_smaller")
      fail_node("unknown keep_aspect_ratio_policy '", policy_,
                "' (stretch, not_larger or not_smaller)");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 4);
    if (in[0].dtype != DType::Float32)
      fail(ErrorKind::Type, node_.label(), ": X must be float32, got ", dtype_name(in[0].dtype));
    const Shape& x = in[0].shape;
    const int rank = static_cast<int>(x.size());
    if (rank == 0) fail_node("X must have rank >= 1, got a scalar");
    const bool has_scales = given(in, 2), has_sizes = given(in, 3);
    if (has_scales == has_sizes) fail_node("give exactly one of the scales and sizes inputs");

    std::vector<int64_t> axes = node_.attr_ints("axes");
    if (!node_.has_attr("axes"))
      for (int d = 0; d < rank; ++d) axes.push_back(d);
    std::vector<char> seen(rank, 0);
    for (int64_t& a : axes) {
      a = normalize_axis(a, rank, node_.label().c_str());
      if (seen[a]++) fail_node("axes ", shape_str(node_.attr_ints("axes")), " repeat axis ", a);
    }

    std::vector<int64_t> out(x);
    std::vector<double> scales(rank, 1.0);
    if (has_scales) {
      const ValueDesc& d = in[2];
      if (!d.constant)
        fail_node(
            "the scales input must be a constant (values computed at run time are not "
            "supported)");
      if (d.dtype != DType::Float32 || d.shape.size() != 1)
        fail(ErrorKind::Type, node_.label(),
             ": the scales input must be a 1-D float32 tensor, got ", d.constant->describe());
      if (static_cast<size_t>(d.shape[0]) != axes.size())
        fail_node("scales ", d.constant->describe(), " must hold one value per axis (", axes.size(),
                  ")");
      const Tensor host = d.constant->to(Device::cpu());
      for (size_t k = 0; k < axes.size(); ++k) {
        const double s = host.data<float>()[k];
        if (!(s > 0)) fail_node("scales must be positive, got ", s, " for axis ", axes[k]);
        scales[axes[k]] = s;
        out[axes[k]] = static_cast<int64_t>(std::floor(static_cast<double>(x[axes[k]]) * s));
      }
      if (policy_ != "stretch")
        fail_node("keep_aspect_ratio_policy '", policy_, "' needs the sizes input");
    } else {
      const std::vector<int64_t> sizes = constant_int64s(in, 3, "sizes");
      if (sizes.size() != axes.size())
        fail_node("sizes ", shape_str(sizes), " must hold one value per axis (", axes.size(), ")");
      for (size_t k = 0; k < axes.size(); ++k) {
        if (sizes[k] < 0) fail_node("sizes ", shape_str(sizes), " must not be negative");
        if (x[axes[k]] == 0 && sizes[k] != 0)
          fail_node("cannot resize the empty dim ", axes[k], " of X ", shape_str(x));
      }
      if (policy_ == "stretch") {
        for (size_t k = 0; k < axes.size(); ++k) {
          out[axes[k]] = sizes[k];
          if (x[axes[k]] > 0)
            scales[axes[k]] = static_cast<double>(sizes[k]) / static_cast<double>(x[axes[k]]);
        }
      } else {  // one scale for every axis, the smallest (not_larger) or largest
        double s = policy_ == "not_larger" ? INFINITY : 0.0;
        for (size_t k = 0; k < axes.size(); ++k) {
          if (x[axes[k]] == 0) continue;
          const double r = static_cast<double>(sizes[k]) / static_cast<double>(x[axes[k]]);
          s = policy_ == "not_larger" ? std::min(s, r) : std::max(s, r);
        }
        if (!(s > 0) || std::isinf(s))
          fail_node("sizes ", shape_str(sizes), " give no positive scale");
        for (int64_t a : axes) {
          scales[a] = s;
          out[a] = static_cast<int64_t>(std::floor(s * static_cast<double>(x[a]) + 0.5));
        }
      }
    }
    std::vector<double> roi;
    if (coord_ == ResizeCoord::TfCropAndResize) roi = crop_roi(in, axes, rank);
    geometry_ = resize_geometry(x, out, scales, mode_, coord_, nearest_,
                                node_.attr_int("antialias") != 0, roi, "Resize");
    geometry_.cubic_a = node_.attr_float("cubic_coeff_a");
    geometry_.exclude_outside = node_.attr_int("exclude_outside") != 0;
    geometry_.extrapolation = node_.attr_float("extrapolation_value");
    return {{DType::Float32, resize_output_shape(geometry_)}};
  }

  // tf_crop_and_resize's [starts..., ends...] for every dim of X: the roi input's for `axes`,
  // the whole dim (0 to 1) for the others.
  std::vector<double> crop_roi(const std::vector<ValueDesc>& in, const std::vector<int64_t>& axes,
                               int rank) const {
    if (!given(in, 1)) fail_node("tf_crop_and_resize needs the roi input");
    const ValueDesc& d = in[1];
    if (!d.constant)
      fail_node(
          "the roi input must be a constant (values computed at run time are not "
          "supported)");
    if (d.dtype != DType::Float32 || d.shape.size() != 1 ||
        static_cast<size_t>(d.shape[0]) != 2 * axes.size())
      fail(ErrorKind::Type, node_.label(),
           ": the roi input must be 1-D float holding a start and "
           "an end per axis (",
           2 * axes.size(), " values), got ", d.constant->describe());
    const Tensor host = d.constant->to(Device::cpu());
    std::vector<double> roi(2 * rank, 0.0);
    for (int dim = 0; dim < rank; ++dim) roi[rank + dim] = 1.0;
    for (size_t k = 0; k < axes.size(); ++k) {
      roi[axes[k]] = host.data<float>()[k];
      roi[rank + axes[k]] = host.data<float>()[axes.size() + k];
    }
    return roi;
  }

  void forward(const OpIO& io, const RunContext&) const override {
    resize_forward(io.in(0), geometry_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    resize_backward(io.dout(0), geometry_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  ResizeMode mode_;
  ResizeCoord coord_;
  ResizeNearest nearest_;
  std::string policy_;
  ResizeGeometry geometry_;
};

std::unique_ptr<NodeOp> make_resize_node(const Node& node) {
  return std::make_unique<ResizeNode>(node);
}

// Opsets before 18 have no antialias, axes or keep_aspect_ratio_policy; before 19 no
// half_pixel_symmetric; before 13 roi and scales are required inputs.
void resize_to_opset(Node& node, OnnxExportContext& ctx) {
  const int64_t opset = ctx.opset();
  const std::string coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (opset < 19 && coord == "half_pixel_symmetric")
    ctx.fail(str("opset ", opset, " has no half_pixel_symmetric (from opset 19)"));
  if (opset >= 18) return;
  if (node.has_attr("axes")) ctx.fail(str("opset ", opset, " has no axes (from opset 18)"));
  if (node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
    ctx.fail(str("opset ", opset, " has no keep_aspect_ratio_policy (from opset 18)"));
  node.attrs.erase("antialias");
  node.attrs.erase("keep_aspect_ratio_policy");
  if (opset < 13 && (node.inputs.size() < 3 || node.inputs[1].empty() || node.inputs[2].empty()))
    ctx.fail(str("opset ", opset, " needs the roi and scales inputs (optional from opset 13)"));
}
}  // namespace

void resize_op(OpDef& def) {
  def.schema.inputs(1, 4)
      .attr("mode", Attribute::of_string("nearest"))
      .attr("coordinate_transformation_mode", Attribute::of_string("half_pixel"))
      .attr("nearest_mode", Attribute::of_string("round_prefer_floor"))
      .attr("cubic_coeff_a", Attribute::of_float(-0.75f))
      .attr("exclude_outside", Attribute::of_int(0))
      .attr("extrapolation_value", Attribute::of_float(0.0f))
      .attr("antialias", Attribute::of_int(0))
      .attr("keep_aspect_ratio_policy", Attribute::of_string("stretch"))
      .optional("axes", Attribute::Kind::Ints);
  def.make = make_resize_node;
  def.onnx.since_opset = 11;
  def.onnx.to_opset = resize_to_opset;
}

}  // namespace engine
