// The integer bit ops, elementwise with numpy broadcasting; no gradient:
//   BitShift(x, y): x shifted left or right (direction "LEFT" or "RIGHT", required) by y bits;
//   BitwiseAnd, BitwiseOr, BitwiseXor (x, y); BitwiseNot(x).
//   x [X...] int64, y [Y...] int64 -> z [Z...] int64, Z the broadcast of X and Y.
// The file's narrower integer types are held in int64 (their values sign- or zero-extended,
// uint64 by its bits), so a right shift is arithmetic for signed values, and a left shift or
// a Not keeps bits past the type's width until the output goes back to the declared type
// (which wraps, as ONNX says). A shift outside [0, 64) shifts every bit out: 0, or -1 for a
// negative x shifted right.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"
#include "ops/broadcast_loop.h"

namespace engine {

enum class BitwiseOp { ShiftLeft, ShiftRight, And, Or, Xor, Not };

// The op of an ONNX node: its type, and BitShift's direction.
BitwiseOp bitwise_op_of(const std::string& op_type, const std::string& direction);

// z = x op y; BitwiseNot takes no y (undefined).
void bitwise_forward(BitwiseOp op, const Tensor& x, const Tensor& y, Tensor& z);

// Kernels over contiguous int64 buffers; ax maps z onto x and y.
struct BitwiseKernels {
  void (*run)(BitwiseOp op, const BroadcastAxes<2>& ax, int64_t n, const int64_t* x,
              const int64_t* y, int64_t* z);
};
BitwiseKernels bitwise_ref_kernels();
BitwiseKernels bitwise_cpu_kernels();

}  // namespace engine
