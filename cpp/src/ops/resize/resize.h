// ONNX Resize (opset 11-19) of a float32 x [D...] to y [O...]: each output coordinate o of a
// resized dim maps back to x_original through coordinate_transformation_mode (scale s = O / D
// when sizes are given, else the given scale; W = s * D, the unrounded output length):
//   half_pixel            (o + 0.5) / s - 0.5
//   half_pixel_symmetric  D / 2 * (1 - O / W) + (o + 0.5) / s - 0.5
//   pytorch_half_pixel    (o + 0.5) / s - 0.5, or 0 when W <= 1
//   align_corners         o * (D - 1) / (W - 1), or 0 when W == 1
//   asymmetric            o / s
//   tf_crop_and_resize    start * (D - 1) + o * (end - start) * (D - 1) / (W - 1), or the
//                         middle of [start, end] * (D - 1) when W == 1, for the roi
//                         [start, end] of the dim; an output whose x_original falls outside
//                         [0, D - 1] in any dim is extrapolation_value (no gradient).
// nearest reads the one element nearest_mode rounds x_original to. linear and cubic read the
// taps around x_original: with r = x_original - floor(x_original) (taken as 1, one element
// lower, when x_original is whole), tap i of n is element floor(x_original) + 1 - n/2 + i at
// distance t = 1 - n/2 + i - r, weighted by the triangle max(0, 1 - |t|) (linear, n = 2) or
// Keys' cubic kernel of parameter cubic_coeff_a (cubic, n = 4): (a + 2)|t|^3 - (a + 3)|t|^2 + 1
// within 1, a|t|^3 - 5a|t|^2 + 8a|t| - 4a within 2. With antialias and s < 1 the kernel is
// stretched by 1/s (t scaled by s, n = 2 - 2 * (floor(-1/s) + 1) linear, 2 - 2 * (floor(-2/s)
// + 1) cubic) and the weights divided by their sum. Indices are clamped to [0, D - 1] (the
// edge repeated), except that exclude_outside drops the taps outside x and scales the others
// to sum to 1. An output reads at most kMaxTaps elements (the product of its dims' taps).
// The backward adds each dy, times its tap weights, into the taps' elements; dx is
// OVERWRITTEN.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/grid.h"
#include "engine/tensor.h"

namespace engine {

enum class ResizeMode { Nearest, Linear, Cubic };
enum class ResizeCoord {
  HalfPixel,
  HalfPixelSymmetric,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfCropAndResize
};
enum class ResizeNearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeGeometry {
  static constexpr int kMaxRank = 8;
  static constexpr int kMaxTaps = 64;
  int rank = 0;
  ResizeMode mode = ResizeMode::Nearest;
  ResizeCoord coord = ResizeCoord::HalfPixel;
  ResizeNearest nearest = ResizeNearest::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  float extrapolation = 0.0f;  // tf_crop_and_resize's value outside the input
  int64_t in[kMaxRank] = {}, out[kMaxRank] = {};
  double scale[kMaxRank] = {};
  double roi_start[kMaxRank] = {}, roi_end[kMaxRank] = {};  // tf_crop_and_resize's
  bool resized[kMaxRank] = {};
  int64_t out_numel = 0;

  // x_original of output coordinate o along dim d.
  ENGINE_HD double source_coord(int d, int64_t o) const {
    const double s = scale[d], w = s * static_cast<double>(in[d]);
    const double x = static_cast<double>(o);
    switch (coord) {
      case ResizeCoord::HalfPixel:
        return (x + 0.5) / s - 0.5;
      case ResizeCoord::HalfPixelSymmetric:
        return static_cast<double>(in[d]) / 2 * (1 - static_cast<double>(out[d]) / w) +
               (x + 0.5) / s - 0.5;
      case ResizeCoord::PytorchHalfPixel:
        return w > 1 ? (x + 0.5) / s - 0.5 : 0.0;
      case ResizeCoord::AlignCorners:
        return w == 1 ? 0.0 : x * static_cast<double>(in[d] - 1) / (w - 1);
      case ResizeCoord::TfCropAndResize: {
        const double span = static_cast<double>(in[d] - 1);
        const double width = roi_end[d] - roi_start[d];
        return roi_start[d] * span + (w == 1 ? width * span / 2 : x * width * span / (w - 1));
      }
      case ResizeCoord::Asymmetric:
      default:
        return x / s;
    }
  }

  ENGINE_HD int64_t clamp(int64_t i, int d) const {
    return i < 0 ? 0 : (i >= in[d] ? in[d] - 1 : i);
  }

  // The interpolation kernel at distance t >= 0: the triangle (linear) or Keys' cubic.
  ENGINE_HD double kernel(double t) const {
    if (mode == ResizeMode::Linear) return t < 1 ? 1 - t : 0.0;
    const double a = cubic_a;
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0.0;
  }

  // The number of taps along resized dim d (1 for nearest).
  ENGINE_HD int taps_per_dim(int d) const {
    if (mode == ResizeMode::Nearest) return 1;
    const double reach = mode == ResizeMode::Linear ? 1.0 : 2.0;
    if (!antialias || scale[d] >= 1) return static_cast<int>(2 * reach);
    return static_cast<int>(2 - 2 * (floor(-reach / scale[d]) + 1));
  }

  // The taps of 1-D interpolation at x along dim d: their offsets (the index times `stride`)
  // and weights; returns their count.
  ENGINE_HD int taps_1d(double x, int d, int64_t stride, int64_t* at, double* weight) const {
    const double f = floor(x);
    double r = x - f;
    int64_t base = static_cast<int64_t>(f);
    if (r == 0.0) {  // whole: the element below, at r = 1
      r = 1.0;
      --base;
    }
    const int n = taps_per_dim(d);
    const double stretch = antialias && scale[d] < 1 ? scale[d] : 1.0;
    double sum = 0.0, kept = 0.0;
    for (int i = 0; i < n; ++i) {
      const int64_t p = base + 1 - n / 2 + i;
      const double t = (1 - n / 2 + i - r) * stretch;
      weight[i] = kernel(t < 0 ? -t : t);
      sum += weight[i];
      if (exclude_outside && (p < 0 || p >= in[d])) weight[i] = 0.0;
      kept += weight[i];
      at[i] = clamp(p, d) * stride;
    }
    const double norm = exclude_outside ? kept : (antialias ? sum : 1.0);
    if (norm != 1.0 && norm != 0.0)
      for (int i = 0; i < n; ++i) weight[i] /= norm;
    return n;
  }

  // The input elements output element o reads and their weights; returns their count, or -1
  // where o is extrapolation_value (tf_crop_and_resize outside the input).
  ENGINE_HD int taps(int64_t o, int64_t* src, float* weight) const {
    int64_t base = 0, stride = 1;
    int k = 0;                  // interpolated dims
    // (Left unset: only the entries written below are read, and this runs per output.)
    int count[kMaxRank];   // their taps
    int64_t at[kMaxTaps];  // their offsets and weights, one dim after another
    double w1[kMaxTaps];
    int used = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t od = o % out[d];
      o /= out[d];
      if (!resized[d]) {
        base += od * stride;
      } else {
        const double x = source_coord(d, od);
        if (coord == ResizeCoord::TfCropAndResize && (x < 0 || x > static_cast<double>(in[d] - 1)))
          return -1;
        if (mode == ResizeMode::Nearest) {
          const double f = floor(x);
          const int64_t i = static_cast<int64_t>(f);
          const double r = x - f;
          bool up = false;
          if (r != 0.0) {
            switch (nearest) {
              case ResizeNearest::RoundPreferFloor:
                up = r > 0.5;
                break;
              case ResizeNearest::RoundPreferCeil:
                up = r >= 0.5;
                break;
              case ResizeNearest::Floor:
                up = false;
                break;
              case ResizeNearest::Ceil:
                up = true;
                break;
            }
          }
          base += clamp(up ? i + 1 : i, d) * stride;
        } else {
          count[k] = taps_1d(x, d, stride, at + used, w1 + used);
          used += count[k++];
        }
      }
      stride *= in[d];
    }
    int n = 1;
    for (int j = 0; j < k; ++j) n *= count[j];
    for (int t = 0; t < n; ++t) {
      int64_t s = base;
      double w = 1.0;
      for (int j = 0, rest = t, first = 0; j < k; first += count[j], rest /= count[j], ++j) {
        s += at[first + rest % count[j]];
        w *= w1[first + rest % count[j]];
      }
      src[t] = s;
      weight[t] = static_cast<float>(w);
    }
    return n;
  }

  ENGINE_HD float value(int64_t o, const float* x) const {
    int64_t src[kMaxTaps];
    float w[kMaxTaps];
    const int n = taps(o, src, w);
    if (n < 0) return extrapolation;
    float acc = 0.0f;
    for (int t = 0; t < n; ++t) acc += w[t] * x[src[t]];
    return acc;
  }
};

// ValueError for unknown names.
ResizeMode resize_mode(const std::string& name, const char* op);
ResizeCoord resize_coord(const std::string& name, const char* op);
ResizeNearest resize_nearest(const std::string& name, const char* op);
// The geometry for x's shape and the per-dim output sizes and scales (scale 1 and an
// unchanged size leave a dim as it is, unless a roi crops it); validates, the taps of an
// output against kMaxTaps among them. roi: tf_crop_and_resize's [starts..., ends...] per
// dim (else empty).
ResizeGeometry resize_geometry(const Shape& in, const std::vector<int64_t>& out,
                               const std::vector<double>& scales, ResizeMode mode,
                               ResizeCoord coord, ResizeNearest nearest, bool antialias,
                               const std::vector<double>& roi, const char* op);
Shape resize_output_shape(const ResizeGeometry& g);

void resize_forward(const Tensor& x, const ResizeGeometry& g, Tensor& y);
void resize_backward(const Tensor& dy, const ResizeGeometry& g, Tensor& dx);

struct ResizeKernels {
  void (*forward)(const ResizeGeometry& g, const float* x, float* y);
  // dx (of in_numel elements) overwritten.
  void (*backward)(const ResizeGeometry& g, int64_t in_numel, const float* dy, float* dx);
};
void resize_forward_ref(const ResizeGeometry& g, const float* x, float* y);
void resize_backward_ref(const ResizeGeometry& g, int64_t in_numel, const float* dy, float* dx);
void resize_forward_cpu(const ResizeGeometry& g, const float* x, float* y);

}  // namespace engine
