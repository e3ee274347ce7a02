// ONNX BitShift: x shifted left or right (direction "LEFT" or "RIGHT", required) by y bits,
// elementwise with numpy broadcasting; no gradient.
//   x [X...] int64, y [Y...] int64 -> z [Z...] int64, Z the broadcast of X and Y.
// The file's narrower integer types are held in int64 (their values sign- or zero-extended),
// so a right shift is arithmetic for signed values and a left shift keeps the bits past the
// type's width until the output goes back to the declared type (which wraps, as ONNX says).
// A shift outside [0, 64) shifts every bit out: 0, or -1 for a negative x shifted right.
#pragma once

#include <cstdint>

#include "engine/tensor.h"
#include "ops/broadcast_loop.h"

namespace engine {

void bit_shift_forward(bool left, const Tensor& x, const Tensor& y, Tensor& z);

// Kernels over contiguous int64 buffers; ax maps z onto x and y.
struct BitShiftKernels {
  void (*shift)(bool left, const BroadcastAxes<2>& ax, int64_t n, const int64_t* x,
                const int64_t* y, int64_t* z);
};
BitShiftKernels bit_shift_ref_kernels();
BitShiftKernels bit_shift_cpu_kernels();

}  // namespace engine
