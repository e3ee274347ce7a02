// The shift, and its kernels written once over a loop policy (broadcast_loop.h): SerialLoop
// for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "core/hd.h"
#include "ops/bit_shift/bit_shift.h"

namespace engine {

// Shifts of 64 bits or more, or negative ones, are undefined in C++: every bit goes out.
ENGINE_HD inline int64_t bit_shift(bool left, int64_t x, int64_t s) {
  if (s < 0 || s >= 64) return left || x >= 0 ? 0 : -1;
  return left ? static_cast<int64_t>(static_cast<uint64_t>(x) << s) : x >> s;
}

template <class Loop>
void bit_shift_run(bool left, const BroadcastAxes<2>& ax, int64_t n, const int64_t* x,
                   const int64_t* y, int64_t* z) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[2];
    ax.locate(i, off);
    z[i] = bit_shift(left, x[off[0]], y[off[1]]);
  });
}

template <class Loop>
BitShiftKernels bit_shift_kernels_for() {
  BitShiftKernels kernels;  // member by member: nvcc cannot resolve the templates in a list
  kernels.shift = &bit_shift_run<Loop>;
  return kernels;
}

}  // namespace engine
