// The activation loops compiled for AVX2/FMA (8 floats a vector, fused multiply-adds);
// activation_cpu.cpp calls them after the CPUID check.
#include "ops/activation/activation_cpu_loops.h"

namespace engine {

void activation_forward_avx2(Activation op, const ActivationAttrs& a, int64_t begin, int64_t end,
                             const float* x, float* y) {
  activation_forward_loop(op, a, begin, end, x, y);
}

void activation_backward_avx2(Activation op, const ActivationAttrs& a, int64_t begin,
                              int64_t end, const float* x, const float* y, const float* dy,
                              float* dx) {
  activation_backward_loop(op, a, begin, end, x, y, dy, dx);
}

}  // namespace engine
