// The CPU activation loops over [begin, end): the formulas of activation_math.h in float
// with FastMath's exp, expm1, tanh, log1p and erf, so that the loops of the activations
// vectorize. Included by activation_cpu.cpp (baseline ISA), activation_cpu_avx2.cpp
// (AVX2/FMA) and activation_cpu_avx512.cpp (AVX-512: 16 floats a vector, and 32 registers,
// so the longer formulas keep their constants in registers): the anonymous namespace gives
// each its own copy, compiled for its ISA.
#pragma once

#include "cpu/fast_math.h"
#include "ops/activation/activation_dispatch.h"
#include "ops/activation/activation_math.h"

namespace engine {

// One ISA's copy of the loops below.
struct ActivationLoops {
  void (*forward)(Activation op, const ActivationAttrs& a, int64_t begin, int64_t end,
                  const float* x, float* y);
  void (*backward)(Activation op, const ActivationAttrs& a, int64_t begin, int64_t end,
                   const float* x, const float* y, const float* dy, float* dx);
};
extern const ActivationLoops kActivationLoopsAvx2, kActivationLoopsAvx512;

namespace {

void activation_forward_loop(Activation op, const ActivationAttrs& a, int64_t begin,
                             int64_t end, const float* x, float* y) {
  dispatch_activation(op, [&](auto tag) {
    using M = ActivationMath<decltype(tag)::value>;
    const ActivationParams<float> p(a);
    for (int64_t i = begin; i < end; ++i) y[i] = M::template f<float, FastMath>(x[i], p);
  });
}

void activation_backward_loop(Activation op, const ActivationAttrs& a, int64_t begin,
                              int64_t end, const float* x, const float* y, const float* dy,
                              float* dx) {
  dispatch_activation(op, [&](auto tag) {
    constexpr Activation kOp = decltype(tag)::value;
    using M = ActivationMath<kOp>;
    const ActivationParams<float> p(a);
    if constexpr (kOp == Activation::Relu) {
      // dy * df(x) compiles to a branch around the multiply; a select between the loaded
      // dy and 0 vectorizes (and, as df, passes dy where x is NaN).
      for (int64_t i = begin; i < end; ++i) {
        const float g = dy[i];
        dx[i] = x[i] <= 0.0f ? 0.0f : g;
      }
    } else {
      for (int64_t i = begin; i < end; ++i)
        dx[i] = dy[i] * M::template df<float, FastMath>(x[i], y[i], p);
    }
  });
}

}  // namespace
}  // namespace engine
