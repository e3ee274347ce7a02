// Reference kernels: the same formulas evaluated in double, one element at a time.
#include "ops/activation/activation_dispatch.h"
#include "ops/activation/activation_math.h"

namespace engine {

void activation_forward_ref(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y) {
  dispatch_activation(op, [&](auto tag) {
    using M = ActivationMath<decltype(tag)::value>;
    const ActivationParams<double> p(a);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(M::f(double(x[i]), p));
  });
}

void activation_backward_ref(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx) {
  dispatch_activation(op, [&](auto tag) {
    using M = ActivationMath<decltype(tag)::value>;
    const ActivationParams<double> p(a);
    for (int64_t i = 0; i < n; ++i) {
      const double g = M::df(double(x[i]), double(y[i]), p);
      dx[i] = static_cast<float>(double(dy[i]) * g);
    }
  });
}

}  // namespace engine
