// ONNX Resize (opset 11-19) of a float32 x [D...] to y [O...]: each output coordinate o of a
// resized dim maps back to x_original through coordinate_transformation_mode (scale s = O / D
// when sizes are given, else the given scale; W = s * D, the unrounded output length):
//   half_pixel            (o + 0.5) / s - 0.5
//   half_pixel_symmetric  D / 2 * (1 - O / W) + (o + 0.5) / s - 0.5
//   pytorch_half_pixel    (o + 0.5) / s - 0.5, or 0 when W <= 1
//   align_corners         o * (D - 1) / (W - 1), or 0 when W == 1
//   asymmetric            o / s
// nearest reads the one element nearest_mode rounds x_original to; linear interpolates
// between floor(x_original) and the next element. Indices are clamped to [0, D - 1] (the
// edge repeated). Linear resizes up to kMaxLinear dims at once (2^k taps per output).
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

enum class ResizeMode { Nearest, Linear };
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
  static constexpr int kMaxLinear = 3;
  static constexpr int kMaxTaps = 1 << kMaxLinear;
  int rank = 0;
  ResizeMode mode = ResizeMode::Nearest;
  ResizeCoord coord = ResizeCoord::HalfPixel;
  ResizeNearest nearest = ResizeNearest::RoundPreferFloor;
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

  // The input elements output element o reads and their weights; returns their count.
  ENGINE_HD int taps(int64_t o, int64_t* src, float* weight) const {
    int64_t base = 0, stride = 1;
    int k = 0;
    int64_t lo[kMaxLinear] = {}, hi[kMaxLinear] = {};
    double frac[kMaxLinear] = {};
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t od = o % out[d];
      o /= out[d];
      if (!resized[d]) {
        base += od * stride;
      } else {
        const double x = source_coord(d, od);
        const double f = floor(x);
        const int64_t i = static_cast<int64_t>(f);
        const double r = x - f;
        if (mode == ResizeMode::Nearest) {
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
          lo[k] = clamp(i, d) * stride;
          hi[k] = clamp(i + 1, d) * stride;
          frac[k] = r;
          ++k;
        }
      }
      stride *= in[d];
    }
    const int n = 1 << k;
    for (int t = 0; t < n; ++t) {
      int64_t s = base;
      double w = 1.0;
      for (int j = 0; j < k; ++j) {
        const bool upper = (t >> j) & 1;
        s += upper ? hi[j] : lo[j];
        w *= upper ? frac[j] : 1.0 - frac[j];
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

// ValueError for unknown or unsupported names (cubic, tf_crop_and_resize).
ResizeMode resize_mode(const std::string& name, const char* op);
ResizeCoord resize_coord(const std::string& name, const char* op);
ResizeNearest resize_nearest(const std::string& name, const char* op);
// The geometry for x's shape and the per-dim output sizes and scales (scale 1 and an
// unchanged size leave a dim as it is); validates.
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
