// im2col / col2im: the lowering that turns a convolution into one GEMM per image and group.
//
//   col[(c, kh, kw), (oh, ow)] = x[c, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW]   (0 in the pads)
//
// col is [C*KH*KW, OH*OW], row-major: the K x P operand of  y[OC, P] = w[OC, K] * col[K, P].
// col2im is its transpose (the data gradient): it scatters col back and ADDS into x, so
// callers zero x first.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/window2d.h"

namespace engine {

// For one kernel tap along one axis: the outputs [lo, hi) whose input index
// o*stride - pad + tap*dilation falls inside [0, in), and the input index of `lo`.
// Everything outside [lo, hi) reads padding. Shared by every direct window loop so that
// inner loops run branch-free over the valid span.
struct TapSpan {
  int64_t lo, hi, in0;
};

inline TapSpan tap_span(int64_t out, int64_t in, int64_t stride, int64_t pad, int64_t tap,
                        int64_t dilation) {
  const int64_t offset = tap * dilation - pad;  // input index of output 0
  // Smallest o with o*stride + offset >= 0, largest with o*stride + offset <= in - 1.
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hi = in - 1 - offset < 0 ? 0 : (in - 1 - offset) / stride + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi, lo * stride + offset};
}

// x [C, H, W] (one image, the channels of one group) -> col [C*KH*KW, OH*OW].
void im2col(const Window2d& g, int64_t C, const float* x, float* col);
// col [C*KH*KW, OH*OW] -> x [C, H, W], accumulating (x += scatter(col)).
void col2im(const Window2d& g, int64_t C, const float* col, float* x);

}  // namespace engine
