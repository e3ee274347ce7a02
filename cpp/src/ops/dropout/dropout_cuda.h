// The CUDA kernels of Dropout, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (dropout_cuda.cu), HostGrid for their emulation in the kernel table.
//   forward: one thread per element pair, which draws the pair's hash (dropout.h) once; the
//     mask is a function of (seed, index) alone, so it is the CPU kernels' mask.
//   backward, keep_all: one thread per element.
#pragma once

#include "core/grid.h"
#include "ops/dropout/dropout.h"

namespace engine {

// Element i of a pair drawn as `word`: kept when word >= threshold. The arithmetic is the
// CPU kernel's (word, threshold < 2^32: the subtraction borrows exactly when dropped).
ENGINE_HD inline void dropout_one(int64_t i, uint64_t word, uint64_t threshold, float inv_keep,
                                  const float* x, float* y, float* mask) {
  const float keep = static_cast<float>(1 - ((word - threshold) >> 63));
  y[i] = x[i] * (keep * inv_keep);
  if (mask) mask[i] = keep;
}

template <class Grid>
void dropout_forward_grid(int64_t n, const float* x, uint64_t threshold, float inv_keep,
                          uint64_t seed, float* y, float* mask) {
  for_each_index<Grid>((n + 1) / 2, [=] ENGINE_HD(int64_t p) {
    const uint64_t h = dropout_hash(seed, static_cast<uint64_t>(p));
    dropout_one(2 * p, h >> 32, threshold, inv_keep, x, y, mask);
    if (2 * p + 1 < n) dropout_one(2 * p + 1, h & 0xFFFFFFFFull, threshold, inv_keep, x, y, mask);
  });
}

template <class Grid>
void dropout_backward_grid(int64_t n, const float* dy, const float* mask, float inv_keep,
                           float* dx) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { dx[i] = dy[i] * mask[i] * inv_keep; });
}

template <class Grid>
void dropout_keep_all_grid(int64_t n, float* mask) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { mask[i] = 1.0f; });
}

template <class Grid>
DropoutKernels dropout_cuda_kernels() {
  return {dropout_forward_grid<Grid>, dropout_backward_grid<Grid>, dropout_keep_all_grid<Grid>};
}

}  // namespace engine
