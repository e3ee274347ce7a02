// The float update loop of the optimizers over [begin, end): the rules of optimizer_rules.h.
// Included by optimizer_cpu.cpp (baseline ISA), optimizer_cpu_avx2.cpp and
// optimizer_cpu_avx512.cpp: the anonymous namespace gives each its own copy, compiled for its
// ISA (the division and square root of Adam and its kind are the loop's slowest steps, and
// wider vectors take more of them at once).
#pragma once

#include <type_traits>

#include "optim/optimizer_kernels.h"
#include "optim/optimizer_rules.h"

namespace engine {

using OptimizerRangeFn = void (*)(OptimizerKind kind, const OptimizerStep& step, int64_t begin,
                                  int64_t end, float* p, const float* g, float* const* slots);
extern const OptimizerRangeFn kOptimizerRangeAvx2, kOptimizerRangeAvx512;

namespace {

template <class Fn>
void dispatch_slot_mask(int mask, Fn&& fn) {
  static_assert(kMaxOptimizerSlots == 3, "one case per mask below");
  switch (mask) {
    case 0:
      return fn(std::integral_constant<int, 0>{});
    case 1:
      return fn(std::integral_constant<int, 1>{});
    case 2:
      return fn(std::integral_constant<int, 2>{});
    case 3:
      return fn(std::integral_constant<int, 3>{});
    case 4:
      return fn(std::integral_constant<int, 4>{});
    case 5:
      return fn(std::integral_constant<int, 5>{});
    case 6:
      return fn(std::integral_constant<int, 6>{});
    default:
      return fn(std::integral_constant<int, 7>{});
  }
}

void optimizer_update_range(OptimizerKind kind, const OptimizerStep& step, int64_t begin,
                            int64_t end, float* p, const float* g, float* const* slots) {
  // Copies local to the loop: stores through p and the slots cannot reach them, so the
  // constants are loaded once and the loop vectorizes.
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
      for (int64_t i = begin; i < end; ++i) optimizer_update_element<K, float, M>(s, p, g, sl, i);
    });
  });
}

}  // namespace
}  // namespace engine
