// Float kernels: the loops of activation_cpu_loops.h, for AVX2/FMA where the CPU has it
// (activation_cpu_avx2.cpp) and for the baseline ISA otherwise, split across threads.
#include "core/cpu_features.h"
#include "engine/threads.h"
#include "ops/activation/activation_cpu_loops.h"

namespace engine {

void activation_forward_avx2(Activation op, const ActivationAttrs& a, int64_t begin, int64_t end,
                             const float* x, float* y);
void activation_backward_avx2(Activation op, const ActivationAttrs& a, int64_t begin,
                              int64_t end, const float* x, const float* y, const float* dy,
                              float* dx);

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void activation_forward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y) {
  const auto loop = use_avx2_fma() ? activation_forward_avx2 : activation_forward_loop;
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) { loop(op, a, begin, end, x, y); });
}

void activation_backward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx) {
  const auto loop = use_avx2_fma() ? activation_backward_avx2 : activation_backward_loop;
  parallel_for(n, kGrain,
               [&](int64_t begin, int64_t end) { loop(op, a, begin, end, x, y, dy, dx); });
}

}  // namespace engine
