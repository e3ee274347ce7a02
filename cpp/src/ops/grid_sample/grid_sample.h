// ONNX GridSample (opsets 16-22): y[n, c, p] samples x[n, c] at the normalized coordinates
// grid[n, p] in [-1, 1], over 2 spatial dims (x [N, C, H, W], grid [N, Ho, Wo, 2] ->
// y [N, C, Ho, Wo]) or 3 (x [N, C, D, H, W], grid [N, Do, Ho, Wo, 3]); grid[..., 0] is the
// position along W, [..., 1] along H, [..., 2] along D.
//   A coordinate g over a dim of size L maps to x = ((g + 1) L - 1) / 2, or with
//   align_corners x = (g + 1) (L - 1) / 2. nearest rounds it half to even. Outside the
//   border [-0.5, L - 0.5] ([0, L - 1] with align_corners) padding_mode border clamps it to
//   [0, L - 1] and reflection reflects it at the border until it is inside; zeros keeps it;
//   cubic keeps it whatever the padding (onnxruntime and PyTorch; the ONNX reference clamps
//   it for border, which samples otherwise near the edges).
//   linear weighs the 2 elements from floor(x) by 1 - r and r (r = x - floor(x)), cubic the
//   4 from floor(x) - 1 with Keys' kernel (a = -0.75), over each dim (cubic: 2 dims only).
//   An element outside x reads 0 (zeros), the clamped one (border) or the reflected one
//   (reflection). Float32 throughout, as onnxruntime and the ONNX reference compute it.
// Backward: dx gets each dy times its taps' weights (dx OVERWRITTEN); dgrid (OVERWRITTEN)
// the derivative of y along each coordinate, through the weights (linear and cubic; 0 for
// nearest) and the map to x (0 where border clamps, sign-flipped where reflection flips).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "core/hd.h"
#include "engine/tensor.h"

namespace engine {

enum class GridSampleMode { Linear, Nearest, Cubic };
enum class GridSamplePadding { Zeros, Border, Reflection };

struct GridSampleGeometry {
  static constexpr int kMaxDims = 3;
  static constexpr int kMaxTaps = 16;  // linear over 3 dims: 8, cubic over 2: 16
  int dims = 2;                        // spatial dims
  GridSampleMode mode = GridSampleMode::Linear;
  GridSamplePadding padding = GridSamplePadding::Zeros;
  bool align_corners = false;
  int64_t batch = 0, channels = 0;
  int64_t in[kMaxDims] = {};  // x's spatial dims, outermost first
  int64_t in_points = 0;      // their product
  int64_t out_points = 0;     // output positions per image (the grid's spatial dims)

  // x reflected at lo and hi until inside; *sign is -1 when an odd number of reflections
  // turned it around.
  ENGINE_HD static float reflect(float x, float lo, float hi, float* sign) {
    const float range = hi - lo;
    *sign = 1.0f;
    if (range <= 0.0f) return lo;
    if (x < lo) {
      const float d = lo - x;
      const int64_t n = static_cast<int64_t>(d / range);
      const float r = d - static_cast<float>(n) * range;
      *sign = n % 2 == 0 ? -1.0f : 1.0f;
      return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
      const float d = x - hi;
      const int64_t n = static_cast<int64_t>(d / range);
      const float r = d - static_cast<float>(n) * range;
      *sign = n % 2 == 0 ? -1.0f : 1.0f;
      return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
  }

  ENGINE_HD float low_border() const { return align_corners ? 0.0f : -0.5f; }
  ENGINE_HD float high_border(int d) const {
    return static_cast<float>(in[d]) - (align_corners ? 1.0f : 0.5f);
  }

  // The position along spatial dim d of normalized coordinate g, padded; *slope is its
  // derivative by g.
  ENGINE_HD float source(float g, int d, float* slope) const {
    const float length = static_cast<float>(in[d]);
    float x = align_corners ? (g + 1) / 2.0f * (length - 1) : ((g + 1) * length - 1) / 2.0f;
    *slope = align_corners ? (length - 1) / 2.0f : length / 2.0f;
    if (mode == GridSampleMode::Nearest) {
      x = nearbyintf(x);  // half to even, in the default rounding mode
      *slope = 0.0f;
    }
    const float lo = low_border(), hi = high_border(d);
    if (mode != GridSampleMode::Cubic && (x < lo || x > hi)) {
      if (padding == GridSamplePadding::Border) {
        x = x < 0.0f ? 0.0f : (x > length - 1 ? length - 1 : x);
        *slope = 0.0f;
      } else if (padding == GridSamplePadding::Reflection) {
        float sign = 1.0f;
        x = reflect(x, lo, hi, &sign);
        *slope *= sign;
      }
    }
    return x;
  }

  // The element that index i along dim d reads, or -1 for a zero.
  ENGINE_HD int64_t element(int64_t i, int d) const {
    if (i >= 0 && i < in[d]) return i;
    if (padding == GridSamplePadding::Zeros) return -1;
    if (padding == GridSamplePadding::Border) return i < 0 ? 0 : in[d] - 1;
    float sign = 1.0f;
    const int64_t r =
        static_cast<int64_t>(reflect(static_cast<float>(i), low_border(), high_border(d), &sign));
    return r < 0 ? 0 : (r >= in[d] ? in[d] - 1 : r);
  }

  // Keys' cubic weights (a = -0.75) of the 4 taps from floor(x) - 1 at r = x - floor(x),
  // and their derivatives by r.
  ENGINE_HD static void cubic(float r, float* w, float* dw) {
    const float a = -0.75f;
    // far(s) for distances 1 to 2, near(s) within 1.
    auto far = [a](float s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };
    auto near = [a](float s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };
    auto dfar = [a](float s) { return (3 * a * s - 10 * a) * s + 8 * a; };
    auto dnear = [a](float s) { return (3 * (a + 2) * s - 2 * (a + 3)) * s; };
    w[0] = far(r + 1);
    w[1] = near(r);
    w[2] = near(1 - r);
    w[3] = far(2 - r);
    dw[0] = dfar(r + 1);
    dw[1] = dnear(r);
    dw[2] = -dnear(1 - r);
    dw[3] = -dfar(2 - r);
  }

  // The taps of output position `point` (grid values g, g[0] along the innermost dim): the
  // offsets in an image's spatial volume (-1: a zero), the weights, and dw[c][t], the
  // derivative of tap t's weight by g[c]. Returns their count.
  ENGINE_HD int taps(const float* g, int64_t* at, float* w, float (*dw)[kMaxTaps]) const {
    const int per = mode == GridSampleMode::Nearest ? 1 : (mode == GridSampleMode::Linear ? 2 : 4);
    int64_t index[kMaxDims][4];
    float w1[kMaxDims][4], dw1[kMaxDims][4];
    for (int d = 0; d < dims; ++d) {
      float slope = 0.0f;
      float x = source(g[dims - 1 - d], d, &slope);
      // Far outside x (or NaN) every tap reads a zero or the edge: a bounded stand-in keeps
      // the conversions to integers defined.
      const float bound = static_cast<float>(in[d]) + 4.0f;
      if (!(x >= -bound && x <= bound)) {
        x = -bound;
        slope = 0.0f;
      }
      if (mode == GridSampleMode::Nearest) {
        index[d][0] = element(static_cast<int64_t>(x), d);
        w1[d][0] = 1.0f;
        dw1[d][0] = 0.0f;
        continue;
      }
      const float f = floorf(x);
      const float r = x - f;
      const int64_t i = static_cast<int64_t>(f);
      if (mode == GridSampleMode::Linear) {
        index[d][0] = element(i, d);
        index[d][1] = element(i + 1, d);
        w1[d][0] = 1.0f - r;
        w1[d][1] = r;
        dw1[d][0] = -slope;
        dw1[d][1] = slope;
      } else {
        cubic(r, w1[d], dw1[d]);
        for (int j = 0; j < 4; ++j) {
          index[d][j] = element(i - 1 + j, d);
          dw1[d][j] *= slope;
        }
      }
    }
    int n = 1;
    for (int d = 0; d < dims; ++d) n *= per;
    for (int t = 0; t < n; ++t) {
      int64_t offset = 0;
      bool zero = false;
      float weight = 1.0f;
      int rest = t;
      int pick[kMaxDims];
      for (int d = dims - 1; d >= 0; --d, rest /= per) pick[d] = rest % per;
      for (int d = 0; d < dims; ++d) {
        const int64_t e = index[d][pick[d]];
        zero = zero || e < 0;
        offset = offset * in[d] + (e < 0 ? 0 : e);
        weight *= w1[d][pick[d]];
      }
      at[t] = zero ? -1 : offset;
      w[t] = weight;
      for (int d = 0; d < dims; ++d) {
        float others = 1.0f;
        for (int e = 0; e < dims; ++e)
          if (e != d) others *= w1[e][pick[e]];
        dw[dims - 1 - d][t] = dw1[d][pick[d]] * others;
      }
    }
    return n;
  }
};

// ValueError for unknown names.
GridSampleMode grid_sample_mode(const std::string& name, const char* op);
GridSamplePadding grid_sample_padding(const std::string& name, const char* op);
// The geometry for x and grid's shapes; validates them (a ValueError naming `op`).
GridSampleGeometry grid_sample_geometry(const Shape& x, const Shape& grid, GridSampleMode mode,
                                        GridSamplePadding padding, bool align_corners,
                                        const char* op);
Shape grid_sample_output_shape(const Shape& x, const Shape& grid);

void grid_sample_forward(const Tensor& x, const Tensor& grid, const GridSampleGeometry& g,
                         Tensor& y);
// dx and dgrid may be null (not wanted).
void grid_sample_backward(const Tensor& x, const Tensor& grid, const Tensor& dy,
                          const GridSampleGeometry& g, Tensor* dx, Tensor* dgrid);

struct GridSampleKernels {
  void (*forward)(const GridSampleGeometry& g, const float* x, const float* grid, float* y);
  // dx and dgrid may be null.
  void (*backward)(const GridSampleGeometry& g, const float* x, const float* grid, const float* dy,
                   float* dx, float* dgrid);
};
GridSampleKernels grid_sample_ref_kernels();
GridSampleKernels grid_sample_cpu_kernels();

}  // namespace engine
