// Float kernels: the loops of activation_cpu_loops.h, for the best ISA the CPU has
// (activation_cpu_avx512.cpp, activation_cpu_avx2.cpp) or the baseline, split across threads.
#include "core/cpu_features.h"
#include "engine/threads.h"
#include "ops/activation/activation_cpu_loops.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;

const ActivationLoops kActivationLoopsPortable = {activation_forward_loop,
                                                  activation_backward_loop};

const ActivationLoops& loops() {
  return for_cpu_isa(kActivationLoopsAvx512, kActivationLoopsAvx2, kActivationLoopsPortable);
}
}  // namespace

void activation_forward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y) {
  const auto loop = loops().forward;
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) { loop(op, a, begin, end, x, y); });
}

void activation_backward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx) {
  const auto loop = loops().backward;
  parallel_for(n, kGrain,
               [&](int64_t begin, int64_t end) { loop(op, a, begin, end, x, y, dy, dx); });
}

}  // namespace engine
