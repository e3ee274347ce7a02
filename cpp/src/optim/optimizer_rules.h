// The per-element update of each optimizer, written once over the number type T: float in
// the optimized and the CUDA kernels, double in the reference. Formulas: see
// engine/optimizer.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/hd.h"
#include "optim/optimizer_kernels.h"

namespace engine {

template <OptimizerKind K> struct OptimizerRule;

// Slots: [momentum]
template <> struct OptimizerRule<OptimizerKind::SGD> {
  static constexpr int kSlots = 1;
  // Without momentum there is no slot: m starts at 0 and the step is p += -lr * g. One
  // formula for both, with no early return, so that the loop vectorizes.
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    const T lr = T(s.lr), mom = T(s.momentum);
    T& m = st[0];
    m = m * mom - g * lr;
    p += s.nesterov ? m * mom - g * lr : m;
  }
};

// Slots: [accumulator]
template <> struct OptimizerRule<OptimizerKind::Adagrad> {
  static constexpr int kSlots = 1;
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    T& a = st[0];
    a += g * g;
    p -= T(s.lr) * g / std::sqrt(a + T(s.epsilon));
  }
};

// Slots: [velocity, momentum (momentum > 0), average_gradient (centered)]
template <> struct OptimizerRule<OptimizerKind::RMSprop> {
  static constexpr int kSlots = 3;
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    const T rho = T(s.rho), one_minus_rho = T(1 - s.rho);
    T& v = st[0];
    v = rho * v + one_minus_rho * (g * g);
    T denominator;
    if (s.centered) {
      T& ag = st[2];
      ag = rho * ag + one_minus_rho * g;
      denominator = v - ag * ag + T(s.epsilon);
    } else {
      denominator = v + T(s.epsilon);
    }
    const T increment = T(s.lr) * g / std::sqrt(denominator);
    if (s.momentum > 0) {
      T& m = st[1];
      m = T(s.momentum) * m + increment;
      p -= m;
    } else {
      p -= increment;
    }
  }
};

// Slots: [momentum, velocity, velocity_hat (amsgrad)]; AdamW is this rule after the
// decoupled weight decay that every kind applies when weight_decay > 0.
template <> struct OptimizerRule<OptimizerKind::Adam> {
  static constexpr int kSlots = 3;
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    T& m = st[0];
    T& v = st[1];
    m += (g - m) * T(1 - s.beta_1);
    v += (g * g - v) * T(1 - s.beta_2);
    T v_used = v;
    if (s.amsgrad) {
      st[2] = std::max(st[2], v);
      v_used = st[2];
    }
    p -= m * T(s.alpha) / (std::sqrt(v_used) + T(s.epsilon));
  }
};
template <> struct OptimizerRule<OptimizerKind::AdamW> : OptimizerRule<OptimizerKind::Adam> {};

// Slots: [momentum, norm]
template <> struct OptimizerRule<OptimizerKind::Adamax> {
  static constexpr int kSlots = 2;
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    T& m = st[0];
    T& u = st[1];
    m += (g - m) * T(1 - s.beta_1);
    u = std::max(T(s.beta_2) * u, std::abs(g));
    p -= T(s.lr) * m / (T(1 - s.beta_1_power) * (u + T(s.epsilon)));
  }
};

// Slots: [momentum, velocity]
template <> struct OptimizerRule<OptimizerKind::Nadam> {
  static constexpr int kSlots = 2;
  template <class T> ENGINE_HD static void update(const OptimizerStep& s, T& p, T g, T* st) {
    T& m = st[0];
    T& v = st[1];
    m += (g - m) * T(1 - s.beta_1);
    v += (g * g - v) * T(1 - s.beta_2);
    const T m_hat = T(s.mu_t1) * m / T(1 - s.u_product_next) +
                    T(1 - s.mu_t) * g / T(1 - s.u_product);
    const T v_hat = v / T(1 - s.beta_2_power);
    p -= m_hat * T(s.lr) / (std::sqrt(v_hat) + T(s.epsilon));
  }
};

// Which slots exist, when the caller knows it at compile time: bit k for slot k.
constexpr int kSlotsAtRunTime = -1;

// One parameter element: clip its gradient, decay the weight, apply the rule. Slots
// whose pointer is null are not used by this configuration and stay untouched. With a
// kSlotMask the caller guarantees which slots exist, so no test is left in the loop and
// it vectorizes.
template <OptimizerKind K, class T, int kSlotMask = kSlotsAtRunTime>
ENGINE_HD inline void optimizer_update_element(const OptimizerStep& s, float* p, const float* g,
                                     float* const* slots, int64_t i) {
  using Rule = OptimizerRule<K>;
  auto present = [&](int k) {
    return kSlotMask == kSlotsAtRunTime ? slots[k] != nullptr : ((kSlotMask >> k) & 1) != 0;
  };
  T st[kMaxOptimizerSlots] = {};
  for (int k = 0; k < Rule::kSlots; ++k)
    if (present(k)) st[k] = T(slots[k][i]);
  T gi = T(g[i]) * T(s.grad_scale);
  if (s.clip_value > 0) gi = std::min(std::max(gi, T(-s.clip_value)), T(s.clip_value));
  T pi = T(p[i]);
  if (s.decay != 0) pi -= pi * T(s.decay);
  Rule::update(s, pi, gi, st);
  p[i] = static_cast<float>(pi);
  for (int k = 0; k < Rule::kSlots; ++k)
    if (present(k)) slots[k][i] = static_cast<float>(st[k]);
}

// Turns a run-time kind into a compile-time one: fn(std::integral_constant<...>).
template <class Fn>
void dispatch_optimizer(OptimizerKind kind, Fn&& fn) {
  using K = OptimizerKind;
  switch (kind) {
    case K::SGD: fn(std::integral_constant<K, K::SGD>{}); return;
    case K::Adagrad: fn(std::integral_constant<K, K::Adagrad>{}); return;
    case K::RMSprop: fn(std::integral_constant<K, K::RMSprop>{}); return;
    case K::Adam: fn(std::integral_constant<K, K::Adam>{}); return;
    case K::Adamax: fn(std::integral_constant<K, K::Adamax>{}); return;
    case K::Nadam: fn(std::integral_constant<K, K::Nadam>{}); return;
    case K::AdamW: fn(std::integral_constant<K, K::AdamW>{}); return;
  }
  fail(ErrorKind::Value, "optimizer: unknown kind code ", static_cast<int>(kind));
}

}  // namespace engine
