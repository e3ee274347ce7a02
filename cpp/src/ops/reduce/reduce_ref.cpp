// Reference kernels: one output at a time, every element's offset recomputed from its
// index, the formulas in double.
#include "ops/reduce/reduce_math.h"

namespace engine {

void reduce_forward_ref(ReduceOp op, const ReduceLayout& l, const float* x, float* y) {
  dispatch_reduce(op, [&](auto tag) {
    using M = ReduceMath<decltype(tag)::value>;
    for (int64_t k = 0; k < l.outputs; ++k) {
      ReduceAcc<double> s = M::template init<double>();
      for (int64_t r = 0; r < l.count; ++r)
        M::step(s, double(x[l.kept.offset(k) + l.reduced.offset(r)]));
      y[k] = static_cast<float>(M::finish(s, l.count));
    }
  });
}

void reduce_backward_ref(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                         const float* dy, float* dx) {
  dispatch_reduce(op, [&](auto tag) {
    using M = ReduceMath<decltype(tag)::value>;
    for (int64_t k = 0; k < l.outputs; ++k) {
      bool routed = false;
      ReduceAcc<double> s = M::template init<double>();
      if constexpr (M::kGradFromAcc)
        for (int64_t r = 0; r < l.count; ++r)
          M::step(s, double(x[l.kept.offset(k) + l.reduced.offset(r)]));
      for (int64_t r = 0; r < l.count; ++r) {
        const int64_t i = l.kept.offset(k) + l.reduced.offset(r);
        if constexpr (M::kArg) {
          const bool match = x[i] == y[k] || (std::isnan(x[i]) && std::isnan(y[k]));
          dx[i] = match && !routed ? dy[k] : 0.0f;
          routed = routed || match;
        } else if constexpr (M::kGradFromAcc) {
          dx[i] = static_cast<float>(double(dy[k]) * M::grad_acc(double(x[i]), s));
        } else {
          dx[i] = static_cast<float>(double(dy[k]) * M::grad(double(x[i]), double(y[k]), l.count));
        }
      }
    }
  });
}

}  // namespace engine
