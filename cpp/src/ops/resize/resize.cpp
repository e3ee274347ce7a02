#include "ops/resize/resize.h"

#include "core/kernel_table.h"
#include "ops/resize/resize_cuda.h"

namespace engine {

ResizeMode resize_mode(const std::string& name, const char* op) {
  if (name == "nearest") return ResizeMode::Nearest;
  if (name == "linear") return ResizeMode::Linear;
  if (name == "cubic") return ResizeMode::Cubic;
  fail(ErrorKind::Value, op, ": unknown mode '", name, "' (nearest, linear or cubic)");
}

ResizeCoord resize_coord(const std::string& name, const char* op) {
  if (name == "half_pixel") return ResizeCoord::HalfPixel;
  if (name == "half_pixel_symmetric") return ResizeCoord::HalfPixelSymmetric;
  if (name == "pytorch_half_pixel") return ResizeCoord::PytorchHalfPixel;
  if (name == "align_corners") return ResizeCoord::AlignCorners;
  if (name == "asymmetric") return ResizeCoord::Asymmetric;
  if (name == "tf_crop_and_resize") return ResizeCoord::TfCropAndResize;
  fail(ErrorKind::Value, op, ": unknown coordinate_transformation_mode '", name, "' (half_pixel, ",
       "half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric or ",
       "tf_crop_and_resize)");
}

ResizeNearest resize_nearest(const std::string& name, const char* op) {
  if (name == "round_prefer_floor") return ResizeNearest::RoundPreferFloor;
  if (name == "round_prefer_ceil") return ResizeNearest::RoundPreferCeil;
  if (name == "floor") return ResizeNearest::Floor;
  if (name == "ceil") return ResizeNearest::Ceil;
  fail(ErrorKind::Value, op, ": unknown nearest_mode '", name, "' (round_prefer_floor, ",
       "round_prefer_ceil, floor or ceil)");
}

ResizeGeometry resize_geometry(const Shape& in, const std::vector<int64_t>& out,
                               const std::vector<double>& scales, ResizeMode mode,
                               ResizeCoord coord, ResizeNearest nearest, bool antialias,
                               const std::vector<double>& roi, const char* op) {
  const int rank = static_cast<int>(in.size());
  ENGINE_CHECK(rank >= 1, op, ": X must have rank >= 1, got a scalar");
  ENGINE_CHECK(rank <= ResizeGeometry::kMaxRank, op, ": X has rank ", rank, ", more than ",
               ResizeGeometry::kMaxRank);
  ENGINE_CHECK(out.size() == in.size() && scales.size() == in.size(), op,
               ": the output sizes and scales must have one value per dim of X ", shape_str(in));
  const bool cropped = coord == ResizeCoord::TfCropAndResize;
  ENGINE_CHECK(!cropped || roi.size() == 2 * in.size(), op,
               ": tf_crop_and_resize needs a roi of a start and an end per dim");
  ResizeGeometry g;
  g.rank = rank;
  g.mode = mode;
  g.coord = coord;
  g.nearest = nearest;
  g.antialias = antialias;
  int64_t taps = 1;
  for (int d = 0; d < rank; ++d) {
    ENGINE_CHECK(scales[d] > 0, op, ": scales must be positive, got ", scales[d], " for dim ", d);
    ENGINE_CHECK(out[d] >= 0, op, ": the output size of dim ", d, " is negative (", out[d], ")");
    g.in[d] = in[d];
    g.out[d] = out[d];
    g.scale[d] = scales[d];
    if (cropped) {
      g.roi_start[d] = roi[d];
      g.roi_end[d] = roi[rank + d];
    }
    const bool whole = !cropped || (roi[d] == 0.0 && roi[rank + d] == 1.0);
    g.resized[d] = !(scales[d] == 1.0 && in[d] == out[d] && whole);
    if (g.resized[d] && out[d] > 0)
      ENGINE_CHECK(in[d] > 0, op, ": cannot resize the empty dim ", d, " of X ", shape_str(in),
                   " to ", out[d]);
    if (g.resized[d]) taps *= g.taps_per_dim(d);
    ENGINE_CHECK(taps <= ResizeGeometry::kMaxTaps, op, ": each output would read ", taps,
                 " or more elements of X ", shape_str(in), " (to ", shape_str(out), "), more than ",
                 ResizeGeometry::kMaxTaps,
                 " (fewer interpolated dims, or milder antialiased "
                 "downscaling, at once)");
  }
  g.out_numel = shape_numel(resize_output_shape(g));
  return g;
}

Shape resize_output_shape(const ResizeGeometry& g) { return Shape(g.out, g.out + g.rank); }

const KernelTable<ResizeKernels>& resize_kernels() {
  static const KernelTable<ResizeKernels> table("Resize", {resize_forward_ref, resize_backward_ref},
                                                {resize_forward_cpu, resize_backward_ref},
                                                resize_cuda_kernels<HostGrid>());
  return table;
}

void resize_forward(const Tensor& x, const ResizeGeometry& g, Tensor& y) {
  check_dense_float(x, "Resize: X");
  check_dense_float(y, "Resize: Y");
  ENGINE_CHECK(x.shape() == Shape(g.in, g.in + g.rank), "Resize: X ", x.describe(),
               " does not match the geometry");
  ENGINE_CHECK(y.shape() == resize_output_shape(g), "Resize: Y ", y.describe(),
               " does not match the output shape ", shape_str(resize_output_shape(g)));
  resize_kernels().get(x.device()).forward(g, x.data<float>(), y.data<float>());
}

void resize_backward(const Tensor& dy, const ResizeGeometry& g, Tensor& dx) {
  check_dense_float(dy, "Resize_backward: dy");
  check_dense_float(dx, "Resize_backward: dx");
  ENGINE_CHECK(dx.shape() == Shape(g.in, g.in + g.rank), "Resize_backward: dx ", dx.describe(),
               " does not match the geometry");
  ENGINE_CHECK(dy.shape() == resize_output_shape(g), "Resize_backward: dy ", dy.describe(),
               " does not match the output shape ", shape_str(resize_output_shape(g)));
  resize_kernels().get(dx.device()).backward(g, dx.numel(), dy.data<float>(), dx.data<float>());
}

}  // namespace engine
