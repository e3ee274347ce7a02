// The bit ops, and their kernels written once over a loop policy (broadcast_loop.h):
// SerialLoop for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "core/hd.h"
#include "ops/bitwise/bitwise.h"

namespace engine {

// Shifts of 64 bits or more, or negative ones, are undefined in C++: every bit goes out.
ENGINE_HD inline int64_t bitwise(BitwiseOp op, int64_t x, int64_t y) {
  switch (op) {
    case BitwiseOp::ShiftLeft:
      return y < 0 || y >= 64 ? 0 : static_cast<int64_t>(static_cast<uint64_t>(x) << y);
    case BitwiseOp::ShiftRight:
      return y < 0 || y >= 64 ? (x < 0 ? -1 : 0) : x >> y;
    case BitwiseOp::And:
      return x & y;
    case BitwiseOp::Or:
      return x | y;
    case BitwiseOp::Xor:
      return x ^ y;
    case BitwiseOp::Not:
    default:
      return ~x;
  }
}

template <class Loop>
void bitwise_run(BitwiseOp op, const BroadcastAxes<2>& ax, int64_t n, const int64_t* x,
                 const int64_t* y, int64_t* z) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[2];
    ax.locate(i, off);
    z[i] = bitwise(op, x[off[0]], y[off[1]]);
  });
}

template <class Loop>
BitwiseKernels bitwise_kernels_for() {
  BitwiseKernels kernels;  // member by member: nvcc cannot resolve the templates in a list
  kernels.run = &bitwise_run<Loop>;
  return kernels;
}

}  // namespace engine
