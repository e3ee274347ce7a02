// The Mod formulas and kernels, written once over a loop policy (broadcast_loop.h):
// SerialLoop for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "ops/mod/mod.h"

namespace engine {

// numpy's float mod: fmod's remainder moved to the divisor's side; a zero takes b's sign.
template <class T>
ENGINE_HD T mod_of(T a, T b, bool c_fmod) {
  T r = std::fmod(a, b);
  if (c_fmod || b == T(0)) return r;
  if (r != T(0)) return (b < T(0)) != (r < T(0)) ? r + b : r;
  return std::copysign(T(0), b);
}

// C's % (truncated) or Python's (floored); 0 where b is 0, and for INT64_MIN % -1, which
// overflows in C.
ENGINE_HD inline int64_t mod_of(int64_t a, int64_t b, bool c_fmod) {
  if (b == 0 || b == -1) return 0;
  const int64_t r = a % b;
  return !c_fmod && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
}

// The quotient q of a = q b + mod(a, b): an integer, so rounding (a - r) / b recovers it
// exactly where floor(a / b) could round across an integer.
template <class T>
ENGINE_HD T mod_quotient(T a, T b, bool c_fmod) {
  return std::nearbyint((a - mod_of(a, b, c_fmod)) / b);
}

template <class Loop, class T>
void mod_forward_as(bool c_fmod, const BroadcastAxes<2>& ax, int64_t n, const T* a, const T* b,
                    T* y) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[2];
    ax.locate(i, off);
    y[i] = mod_of(a[off[0]], b[off[1]], c_fmod);
  });
}

template <class Loop>
void mod_divisor_gradient(bool c_fmod, const BroadcastAxes<2>& ax, int64_t n, const float* a,
                          const float* b, const float* dy, float* g) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[2];
    ax.locate(i, off);
    g[i] = -mod_quotient(a[off[0]], b[off[1]], c_fmod) * dy[i];
  });
}

template <class Loop>
ModKernels mod_kernels_for() {
  ModKernels kernels;  // member by member: nvcc cannot resolve the templates in a list
  kernels.forward_float = &mod_forward_as<Loop, float>;
  kernels.forward_int64 = &mod_forward_as<Loop, int64_t>;
  kernels.divisor_gradient = &mod_divisor_gradient<Loop>;
  return kernels;
}

}  // namespace engine
