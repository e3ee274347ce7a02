// im2col / col2im: the lowering that turns a convolution into one GEMM per image and group.
//
//   col[(c, kh, kw), (oh, ow)] = x[c, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW]   (0 in the pads)
//
// col is [C*KH*KW, OH*OW], row-major (3-D: [C*KD*KH*KW, OD*OH*OW], the depth taps and
// output slices outermost): the K x P operand of  y[OC, P] = w[OC, K] * col[K, P].
// col2im is its transpose (the data gradient): it scatters col back and ADDS into x, so
// callers zero x first.
#pragma once

#include <cstdint>

#include "core/window2d.h"

namespace engine {

// x [C, H, W] (one image, the channels of one group) -> col [C*KH*KW, OH*OW], whose rows
// lie `ld` floats apart (ld >= OH*OW: several images' columns side by side in one matrix).
void im2col(const Window2d& g, int64_t C, const float* x, float* col, int64_t ld);
// col [C*KH*KW, OH*OW] (rows `ld` apart) -> x [C, H, W], accumulating (x += scatter(col)).
void col2im(const Window2d& g, int64_t C, const float* col, float* x, int64_t ld);

}  // namespace engine
