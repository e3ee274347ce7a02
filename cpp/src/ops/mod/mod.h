// ONNX Mod: the remainder of a / b elementwise, with numpy broadcasting.
//   a [A...], b [B...] of one dtype (float32 or int64) -> y [Y...], Y the broadcast of A and B.
//   fmod 0 (default): the remainder takes the sign of the divisor, as Python's % and numpy's
//     mod (floats: a zero remainder is 0 with b's sign, as numpy); fmod 1: C's fmod and %,
//     the sign of the dividend. Both modes run on both types (ONNX allows fmod 0 on floats
//     from opset 28 on).
//   Integer division by zero gives 0 (as numpy), and INT64_MIN mod -1 gives 0; for floats,
//   x mod 0 is NaN.
//   Backward (float32): a = q b + y with q = floor(a / b) (fmod 0) or trunc(a / b) (fmod 1),
//   an integer constant between its jumps: da = dy, db = -q dy, each summed over the axes
//   its input was broadcast along; both OVERWRITE, either may be null.
#pragma once

#include <cstdint>

#include "engine/tensor.h"
#include "ops/broadcast_loop.h"

namespace engine {

void mod_forward(const Tensor& a, const Tensor& b, bool c_fmod, Tensor& y);
void mod_backward(const Tensor& dy, const Tensor& a, const Tensor& b, bool c_fmod, Tensor* da,
                  Tensor* db);

// Kernels over contiguous buffers; ax maps y onto a and b. quotient: g[i] = -q[i] dy[i] in
// y's shape (the gradient of b before its broadcast axes are summed).
struct ModKernels {
  void (*forward_float)(bool c_fmod, const BroadcastAxes<2>& ax, int64_t n, const float* a,
                        const float* b, float* y);
  void (*forward_int64)(bool c_fmod, const BroadcastAxes<2>& ax, int64_t n, const int64_t* a,
                        const int64_t* b, int64_t* y);
  void (*divisor_gradient)(bool c_fmod, const BroadcastAxes<2>& ax, int64_t n, const float* a,
                           const float* b, const float* dy, float* g);
};
ModKernels mod_ref_kernels();
ModKernels mod_cpu_kernels();

}  // namespace engine
