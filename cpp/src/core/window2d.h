// The resolved geometry of a 2-D or 3-D sliding window (convolution, pooling): plain data
// shared by the CPU and device primitives. ops/window2d.h resolves it from ONNX attributes.
// A 3-D window adds a depth axis in front of height and width; a 2-D window is the one whose
// depth axis is trivial (input, kernel and output depth 1, no depth pads), so every 2-D
// kernel reads only the H/W fields and 3-D code sees 2-D as depth 1.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/checked.h"

namespace engine {

struct Window2d {
  int64_t H = 0, W = 0;    // input
  int64_t KH = 0, KW = 0;  // kernel
  int64_t SH = 1, SW = 1;  // strides
  int64_t DH = 1, DW = 1;  // dilations
  int64_t PT = 0, PL = 0, PB = 0, PR = 0;  // pads: top, left, bottom, right
  int64_t OH = 0, OW = 0;  // output
  // Depth (3-D inputs [N, C, D, H, W]); the defaults make the axis trivial.
  int64_t D = 1, KD = 1, SD = 1, DD = 1, PF = 0, PK = 0, OD = 1;  // PF/PK: front, back pads
  int rank = 2;  // spatial dims of the tensors: 2 or 3

  // Depth contributes nothing: the 2-D kernels (which read only the H/W fields) apply.
  bool planar() const { return D == 1 && KD == 1 && OD == 1 && PF == 0; }
  int64_t in_size() const { return D * H * W; }      // input elements per channel
  int64_t out_size() const { return OD * OH * OW; }  // output elements per channel
  int64_t taps() const { return KD * KH * KW; }      // kernel taps
};

// For one kernel tap along one axis: the outputs [lo, hi) whose input index
// o*stride - pad + tap*dilation falls inside [0, in), and the input index of `lo` (0 when
// the span is empty, so that pointers formed from it stay inside the input). Everything
// outside [lo, hi) reads padding. Shared by every direct window loop so that inner loops
// run branch-free over the valid span. The geometry was checked when it was resolved
// (every product and sum fits in 64 bits).
struct TapSpan {
  int64_t lo, hi, in0;
};

inline TapSpan tap_span(int64_t out, int64_t in, int64_t stride, int64_t pad, int64_t tap,
                        int64_t dilation) {
  const int64_t offset = tap * dilation - pad;  // input index of output 0
  // Smallest o with o*stride + offset >= 0, largest with o*stride + offset <= in - 1.
  int64_t lo = offset >= 0 ? 0 : ceil_div(-offset, stride);
  int64_t hi = in - 1 - offset < 0 ? 0 : (in - 1 - offset) / stride + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi, hi > lo ? lo * stride + offset : 0};
}

}  // namespace engine
