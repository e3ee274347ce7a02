// Float kernels: the rules of optimizer_rules.h in float, one threaded pass per tensor.
#include <algorithm>
#include <vector>

#include "engine/threads.h"
#include "optim/optimizer_kernels.h"
#include "optim/optimizer_rules.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;

template <class Fn>
void dispatch_slot_mask(int mask, Fn&& fn) {
  static_assert(kMaxOptimizerSlots == 3, "one case per mask below");
  switch (mask) {
    case 0: return fn(std::integral_constant<int, 0>{});
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    default: return fn(std::integral_constant<int, 7>{});
  }
}
}  // namespace

void optimizer_update_cpu(OptimizerKind kind, const OptimizerStep& step, int64_t n, float* p,
                          const float* g, float* const* slots) {
  // A local copy: the compiler may then keep every constant in registers.
  const OptimizerStep s = step;
  float* const sl[kMaxOptimizerSlots] = {slots[0], slots[1], slots[2]};
  // Which slots this configuration keeps (Adam's third only with amsgrad, SGD's only with
  // momentum, ...), as a compile-time mask: the loop then has no per-element tests.
  int mask = 0;
  for (int k = 0; k < kMaxOptimizerSlots; ++k) mask |= (sl[k] != nullptr) << k;
  dispatch_optimizer(kind, [&](auto tag) {
    constexpr OptimizerKind K = decltype(tag)::value;
    dispatch_slot_mask(mask, [&](auto slot_mask) {
      constexpr int M = decltype(slot_mask)::value;
      parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
        // Copies local to the loop: stores through p and the slots cannot reach them, so
        // the constants are loaded once and the loop vectorizes.
        const OptimizerStep ls = s;
        float* const ls_slots[kMaxOptimizerSlots] = {sl[0], sl[1], sl[2]};
        for (int64_t i = begin; i < end; ++i)
          optimizer_update_element<K, float, M>(ls, p, g, ls_slots, i);
      });
    });
  });
}

double sum_of_squares_cpu(int64_t n, const float* x) {
  // Fixed blocks (not one per thread) so that the sum does not depend on the thread count.
  const int64_t block = kGrain;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(blocks, 1)), 0.0);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t begin = b * block, end = std::min(n, begin + block);
      double acc = 0.0;
      for (int64_t i = begin; i < end; ++i) acc += double(x[i]) * double(x[i]);
      partial[static_cast<size_t>(b)] = acc;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  return total;
}

bool all_finite_cpu(int64_t n, const float* x) {
  int bad = 0;  // an int: GCC vectorizes an OR over int, not over bool
  for (int64_t i = 0; i < n; ++i) bad |= !(x[i] - x[i] == 0.0f);  // NaN, inf
  return bad == 0;
}

}  // namespace engine
