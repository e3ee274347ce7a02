// The optimizer's kernels: one step's scalars and the elementwise update rules of
// engine/optimizer.h, by variant.
#pragma once

#include <cstdint>

#include "core/kernel_table.h"
#include "engine/optimizer.h"

namespace engine {

// Scalars of one step for one tensor, computed once per apply in double.
struct OptimizerStep {
  double lr = 0, decay = 0;             // decay = weight_decay * lr (0 = off)
  double grad_scale = 1;                // from clipnorm / global_clipnorm
  double clip_value = 0;                // > 0: clamp the scaled gradient to +-clip_value
  double momentum = 0, rho = 0, beta_1 = 0, beta_2 = 0, epsilon = 0;
  bool nesterov = false, centered = false, amsgrad = false;
  double alpha = 0;                     // Adam: lr*sqrt(1-b2^t)/(1-b1^t)
  double beta_1_power = 0, beta_2_power = 0;            // b^t
  double mu_t = 0, mu_t1 = 0, u_product = 0, u_product_next = 0;  // Nadam
};

// Most slots any kind keeps per parameter; slot k of a kind sits at a fixed position,
// null when the configuration does not use it (RMSprop: velocity, momentum, average).
constexpr int kMaxOptimizerSlots = 3;

// Update n contiguous parameters in place from their gradients and slots.
void optimizer_update_cpu(OptimizerKind kind, const OptimizerStep& s, int64_t n, float* p,
                          const float* g, float* const* slots);
void optimizer_update_ref(OptimizerKind kind, const OptimizerStep& s, int64_t n, float* p,
                          const float* g, float* const* slots);
// sum(x^2) accumulated in double (gradient norms for clipping).
double sum_of_squares_cpu(int64_t n, const float* x);
double sum_of_squares_ref(int64_t n, const float* x);
// Whether no element is NaN or infinite.
bool all_finite_cpu(int64_t n, const float* x);
bool all_finite_ref(int64_t n, const float* x);

struct OptimizerKernels {
  void (*update)(OptimizerKind kind, const OptimizerStep& s, int64_t n, float* p, const float* g,
                 float* const* slots);
  double (*sum_of_squares)(int64_t n, const float* x);
  bool (*all_finite)(int64_t n, const float* x);
};
const KernelTable<OptimizerKernels>& optimizer_kernels();

}  // namespace engine
