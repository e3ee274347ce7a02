// ONNX Pad (opset 11+ form): x [D...] (rank r, float32) -> y [D_d + before_d + after_d...].
// pads (a constant int64 input) holds before_0..before_{r-1}, after_0..after_{r-1}, or, with
// the axes input of opset 18, the values for those axes only. Negative pads crop.
//   constant: outside x, y = constant_value (a scalar input, default 0)
//   reflect:  x mirrored at its edges without repeating them (pads below D_d)
//   edge:     x's edge values repeated
//   wrap:     x repeated periodically (opset 19)
// Every output element reads one input element (or the constant): PadGeometry::source. The
// backward adds dy into the elements read (reflect and edge read some several times); dx is
// OVERWRITTEN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/grid.h"
#include "engine/tensor.h"

namespace engine {

enum class PadMode { Constant, Reflect, Edge, Wrap };

struct PadGeometry {
  static constexpr int kMaxRank = 8;
  int rank = 0;
  PadMode mode = PadMode::Constant;
  int64_t in[kMaxRank] = {}, out[kMaxRank] = {}, before[kMaxRank] = {};
  int64_t out_numel = 0;

  // The input element output element o reads, or -1 for the constant.
  ENGINE_HD int64_t source(int64_t o) const {
    int64_t src = 0, stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t i = o % out[d] - before[d];
      o /= out[d];
      if (i < 0 || i >= in[d]) {
        if (mode == PadMode::Constant) return -1;
        if (mode == PadMode::Edge) {
          i = i < 0 ? 0 : in[d] - 1;
        } else if (mode == PadMode::Wrap) {  // the period is what the pads keep of x
          const int64_t after = out[d] - in[d] - before[d];
          const int64_t lo = before[d] < 0 ? -before[d] : 0, hi = in[d] - (after < 0 ? -after : 0);
          i = (i - lo) % (hi - lo);
          i = lo + (i < 0 ? i + hi - lo : i);
        } else {  // reflect: period 2 (D - 1), the edges once
          const int64_t period = 2 * (in[d] - 1);
          i = i < 0 ? -i : i;
          i = period > 0 ? i % period : 0;
          if (i >= in[d]) i = period - i;
        }
      }
      src += i * stride;
      stride *= in[d];
    }
    return src;
  }
};

PadMode pad_mode(const std::string& name, const char* op);  // ValueError for an unknown one
// The geometry for x's shape and pads [before..., after...] (one pair per dim); validates.
PadGeometry pad_geometry(const Shape& in, const std::vector<int64_t>& pads, PadMode mode,
                         const char* op);
Shape pad_output_shape(const PadGeometry& g);

void pad_forward(const Tensor& x, const PadGeometry& g, float value, Tensor& y);
void pad_backward(const Tensor& dy, const PadGeometry& g, Tensor& dx);

struct PadKernels {
  void (*forward)(const PadGeometry& g, const float* x, float value, float* y);
  // dx (of in_numel elements) overwritten.
  void (*backward)(const PadGeometry& g, int64_t in_numel, const float* dy, float* dx);
};
void pad_forward_ref(const PadGeometry& g, const float* x, float value, float* y);
void pad_backward_ref(const PadGeometry& g, int64_t in_numel, const float* dy, float* dx);
void pad_forward_cpu(const PadGeometry& g, const float* x, float value, float* y);

}  // namespace engine
