// Float kernels: the formulas of activation_math.h in float, split across threads.
#include "engine/threads.h"
#include "ops/activation/activation_dispatch.h"
#include "ops/activation/activation_math.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void activation_forward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y) {
  dispatch_activation(op, [&](auto tag) {
    using M = ActivationMath<decltype(tag)::value>;
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = M::f(x[i], a.alpha, a.gamma);
    });
  });
}

void activation_backward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx) {
  dispatch_activation(op, [&](auto tag) {
    constexpr Activation kOp = decltype(tag)::value;
    using M = ActivationMath<kOp>;
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      if constexpr (kOp == Activation::Relu) {
        // dy * df(x) compiles to a branch around the multiply; a select between the
        // loaded dy and 0 vectorizes (and, as df, passes dy where x is NaN).
        for (int64_t i = begin; i < end; ++i) {
          const float g = dy[i];
          dx[i] = x[i] <= 0.0f ? 0.0f : g;
        }
      } else {
        for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * M::df(x[i], y[i], a.alpha, a.gamma);
      }
    });
  });
}

}  // namespace engine
