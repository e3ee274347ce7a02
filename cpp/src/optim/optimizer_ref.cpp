// Reference kernels: the same rules evaluated in double, one element at a time.
#include <cmath>

#include "optim/optimizer_kernels.h"
#include "optim/optimizer_rules.h"

namespace engine {

void optimizer_update_ref(OptimizerKind kind, const OptimizerStep& s, int64_t n, float* p,
                          const float* g, float* const* slots) {
  dispatch_optimizer(kind, [&](auto tag) {
    constexpr OptimizerKind K = decltype(tag)::value;
    for (int64_t i = 0; i < n; ++i) optimizer_update_element<K, double>(s, p, g, slots, i);
  });
}

double sum_of_squares_ref(int64_t n, const float* x) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc += double(x[i]) * double(x[i]);
  return acc;
}

bool all_finite_ref(int64_t n, const float* x) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

}  // namespace engine
