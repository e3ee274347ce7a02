// ONNX Resize (opset 11-19) of a float32 x [D...] to y [O...]: each output coordinate o of a
// resized dim maps back to x_original through coordinate_transformation_mode (scale s = O / D
// when sizes are given, else the given scale; W = s * D, the unrounded output length):
//   half_pixel            (o + 0.5) / s - 0.5
//   half_pixel_symmetric  D / 2 * (1 - O / W) + (o + 0.5) / s - 0.5
//   pytorch_half_pixel    (o + 0.5) / s - 0.5, or 0 when W <= 1
//   align_corners         o * (D - 1) / (W - 1), or 0 when W == 1
//   asymmetric            o / s
// nearest reads the one element nearest_mode rounds x_original to; linear interpolates
// between floor(x_original) and the next element; cubic weighs the 4 elements from
// floor(x_original) - 1 with Keys' cubic kernel of parameter cubic_coeff_a (distance t:
// (a + 2)|t|^3 - (a + 3)|t|^2 + 1 within 1, a|t|^3 - 5a|t|^2 + 8a|t| - 4a within 2).
// Indices are clamped to [0, D - 1] (the edge repeated), except that cubic with
// exclude_outside drops the taps outside x and scales the others to sum to 1. Each output
// reads at most kMaxTaps elements: linear resizes up to 4 dims at once, cubic 2.
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
  Asymmetric
};
enum class ResizeNearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeGeometry {
  static constexpr int kMaxRank = 8;
  static constexpr int kMaxTaps = 16;
  static constexpr int kMaxInterpolated = 4;  // dims of 2 taps (linear), or 2 of 4 (cubic)
  int rank = 0;
  ResizeMode mode = ResizeMode::Nearest;
  ResizeCoord coord = ResizeCoord::HalfPixel;
  ResizeNearest nearest = ResizeNearest::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  int64_t in[kMaxRank] = {}, out[kMaxRank] = {};
  double scale[kMaxRank] = {};
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
      case ResizeCoord::Asymmetric:
      default:
        return x / s;
    }
  }

  ENGINE_HD int64_t clamp(int64_t i, int d) const {
    return i < 0 ? 0 : (i >= in[d] ? in[d] - 1 : i);
  }

  // Keys' cubic kernel at distance t >= 0.
  ENGINE_HD double cubic(double t) const {
    const double a = cubic_a;
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0.0;
  }

  // The taps of 1-D interpolation at x (linear: 2, cubic: 4) along dim d: their offsets (the
  // index times `stride`) and weights; returns their count.
  ENGINE_HD int taps_1d(double x, int d, int64_t stride, int64_t* at, double* weight) const {
    const double f = floor(x);
    const int64_t i = static_cast<int64_t>(f);
    const double r = x - f;
    if (mode == ResizeMode::Linear) {
      at[0] = clamp(i, d) * stride;
      at[1] = clamp(i + 1, d) * stride;
      weight[0] = 1.0 - r;
      weight[1] = r;
      return 2;
    }
    double sum = 0.0;
    for (int j = 0; j < 4; ++j) {
      const int64_t p = i - 1 + j;
      const double dist = r - (j - 1);
      weight[j] = exclude_outside && (p < 0 || p >= in[d]) ? 0.0 : cubic(dist < 0 ? -dist : dist);
      sum += weight[j];
      at[j] = clamp(p, d) * stride;
    }
    if (exclude_outside && sum != 0.0)
      for (int j = 0; j < 4; ++j) weight[j] /= sum;
    return 4;
  }

  // The input elements output element o reads and their weights; returns their count.
  ENGINE_HD int taps(int64_t o, int64_t* src, float* weight) const {
    int64_t base = 0, stride = 1;
    int k = 0, per = 1;  // interpolated dims, and the taps of each
    int64_t at[kMaxInterpolated][4] = {};
    double w1[kMaxInterpolated][4] = {};
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t od = o % out[d];
      o /= out[d];
      if (!resized[d]) {
        base += od * stride;
      } else {
        const double x = source_coord(d, od);
        if (mode == ResizeMode::Nearest) {
          const double f = floor(x);
          const int64_t i = static_cast<int64_t>(f);
          const double r = x - f;
          bool up = false;
          if (r != 0.0) {
            switch (nearest) {
              case ResizeNearest::RoundPreferFloor: up = r > 0.5; break;
              case ResizeNearest::RoundPreferCeil: up = r >= 0.5; break;
              case ResizeNearest::Floor: up = false; break;
              case ResizeNearest::Ceil: up = true; break;
            }
          }
          base += clamp(up ? i + 1 : i, d) * stride;
        } else {
          per = taps_1d(x, d, stride, at[k], w1[k]);
          ++k;
        }
      }
      stride *= in[d];
    }
    int n = 1;
    for (int j = 0; j < k; ++j) n *= per;
    for (int t = 0; t < n; ++t) {
      int64_t s = base;
      double w = 1.0;
      for (int j = 0, rest = t; j < k; ++j, rest /= per) {
        s += at[j][rest % per];
        w *= w1[j][rest % per];
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
    float acc = 0.0f;
    for (int t = 0; t < n; ++t) acc += w[t] * x[src[t]];
    return acc;
  }
};

// ValueError for unknown or unsupported names (tf_crop_and_resize).
ResizeMode resize_mode(const std::string& name, const char* op);
ResizeCoord resize_coord(const std::string& name, const char* op);
ResizeNearest resize_nearest(const std::string& name, const char* op);
// The geometry for x's shape and the per-dim output sizes and scales (scale 1 and an
// unchanged size leave a dim as it is); validates. cubic_a and exclude_outside are cubic's
// (see above), set by the caller.
ResizeGeometry resize_geometry(const Shape& in, const std::vector<int64_t>& out,
                               const std::vector<double>& scales, ResizeMode mode,
                               ResizeCoord coord, ResizeNearest nearest, const char* op);
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
