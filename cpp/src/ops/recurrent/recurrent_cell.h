// The formulas of one RNN, LSTM or GRU step for one hidden unit (recurrent.h), forward and
// backward, written once as templates over the scalar type T and the activations (CellActs
// or FixedActs over the elementary functions M of activation_math.h): the reference kernels
// run them in double, the CPU kernels in float with FastMath, the CUDA kernels in float with
// StdMath.
//
// A cell reads the pre-activations `a` of its gates (without the peephole terms, which it
// adds itself) and the previous states; it returns the new states and, for backward, the
// gradients of the pre-activations from those of the new states.
#pragma once

#include <type_traits>

#include "core/hd.h"
#include "ops/activation/activation_math.h"
#include "ops/recurrent/recurrent.h"

namespace engine {

// Whether the elementary functions M bring a sigmoid of their own (the CPU cells' cheaper
// one); others get activation_math.h's.
template <class M, class = void>
struct HasSigmoid : std::false_type {};
template <class M>
struct HasSigmoid<M, std::void_t<decltype(M::sigmoid(0.0f))>> : std::true_type {};

// The activation `a` of x, and its derivative from x and y = activation(x).
template <class T, class M>
ENGINE_HD ENGINE_INLINE T rnn_activate(RnnActivation a, T x) {
  const ActivationParams<T> p{};
  switch (a) {
    case RnnActivation::Sigmoid:
      if constexpr (HasSigmoid<M>::value && std::is_same<T, float>::value) return M::sigmoid(x);
      return ActivationMath<Activation::Sigmoid>::f<T, M>(x, p);
    case RnnActivation::Tanh: return ActivationMath<Activation::Tanh>::f<T, M>(x, p);
    case RnnActivation::Relu: break;
  }
  return ActivationMath<Activation::Relu>::f<T, M>(x, p);
}
template <class T, class M>
ENGINE_HD ENGINE_INLINE T rnn_activate_grad(RnnActivation a, T x, T y) {
  const ActivationParams<T> p{};
  switch (a) {
    case RnnActivation::Sigmoid: return ActivationMath<Activation::Sigmoid>::df<T, M>(x, y, p);
    case RnnActivation::Tanh: return ActivationMath<Activation::Tanh>::df<T, M>(x, y, p);
    case RnnActivation::Relu: break;
  }
  return ActivationMath<Activation::Relu>::df<T, M>(x, y, p);
}

// One direction's activations and clip, as the attributes gave them. apply(k, x) is
// activation k (0: f, 1: g, 2: h) of clipped x; grad(k, x, y) its derivative.
template <class T, class M>
struct CellActs {
  RnnActivation act[3];
  T clip;  // <= 0: none

  ENGINE_HD T clipped(T x) const {
    if (clip <= T(0)) return x;
    return x < -clip ? -clip : (x > clip ? clip : x);
  }
  ENGINE_HD ENGINE_INLINE T apply(int k, T x) const {
    return rnn_activate<T, M>(act[k], clipped(x));
  }
  // 0 where the clip cut x off.
  ENGINE_HD ENGINE_INLINE T grad(int k, T x, T y) const {
    const bool inside = clip <= T(0) || (x >= -clip && x <= clip);
    return inside ? rnn_activate_grad<T, M>(act[k], clipped(x), y) : T(0);
  }
};

// The same for activations fixed at compile time and no clip (the cells' defaults): the
// switches fold away, which lets the CPU loops over hidden units vectorize.
template <class T, class M, RnnActivation A0, RnnActivation A1, RnnActivation A2>
struct FixedActs {
  static constexpr ENGINE_HD RnnActivation of(int k) { return k == 0 ? A0 : k == 1 ? A1 : A2; }
  ENGINE_HD ENGINE_INLINE T apply(int k, T x) const { return rnn_activate<T, M>(of(k), x); }
  ENGINE_HD ENGINE_INLINE T grad(int k, T x, T y) const {
    return rnn_activate_grad<T, M>(of(k), x, y);
  }
};

// Whether Acts is a FixedActs: activations whose derivatives read only their values (sigmoid,
// tanh), so a cell may save the gate values for backward instead of the pre-activations.
template <class Acts>
struct IsFixedActs {
  static constexpr bool value = false;
};
template <class T, class M, RnnActivation A0, RnnActivation A1, RnnActivation A2>
struct IsFixedActs<FixedActs<T, M, A0, A1, A2>> {
  static constexpr bool value = true;
};

template <class T, class M>
CellActs<T, M> cell_acts(const RecurrentGeometry& g, int64_t d) {
  CellActs<T, M> a;
  for (int k = 0; k < 3; ++k) a.act[k] = g.act[d][k];
  a.clip = T(g.clip);
  return a;
}

// Whether direction d runs the cell's default activations without clipping (see FixedActs).
inline bool default_acts(const RecurrentGeometry& g, int64_t d) {
  const RnnActivation first = g.cell == CellKind::Rnn ? RnnActivation::Tanh : RnnActivation::Sigmoid;
  const int n = recurrent_activation_count(g.cell);
  for (int k = 0; k < n; ++k)
    if (g.act[d][k] != (k == 0 ? first : RnnActivation::Tanh)) return false;
  return g.clip <= 0.0f;
}

// ---- LSTM: gates i, o, f, c ------------------------------------------------------------

template <class T>
struct LstmUnit {
  T i, o, f, g, c, hc;  // gate values, new cell state, h(c)
};

// a: the pre-activations i, o, f, c without peepholes; p: peepholes i, o, f (zeros if none).
// Without Peepholes, p is not read, and o no longer waits for c_t.
template <class T, class Acts, bool Peepholes = true>
ENGINE_HD ENGINE_INLINE LstmUnit<T> lstm_unit(const Acts& acts, const T a[4], const T p[3],
                                              T c_prev, T pre[4]) {
  LstmUnit<T> u;
  pre[0] = Peepholes ? a[0] + p[0] * c_prev : a[0];
  pre[2] = Peepholes ? a[2] + p[2] * c_prev : a[2];
  pre[3] = a[3];
  u.i = acts.apply(0, pre[0]);
  u.f = acts.apply(0, pre[2]);
  u.g = acts.apply(1, pre[3]);
  u.c = u.f * c_prev + u.i * u.g;
  pre[1] = Peepholes ? a[1] + p[1] * u.c : a[1];
  u.o = acts.apply(0, pre[1]);
  u.hc = acts.apply(2, u.c);
  return u;
}

// The same from the gate values v = i, o, f, c~ as well as their pre-activations (FixedActs,
// whose derivatives do not read pre, take v for both).
template <class T, class Acts>
ENGINE_HD ENGINE_INLINE T lstm_gates_backward(const Acts& acts, const T pre[4], const T v[4],
                                              const T p[3], T c_prev, T dh, T dc, T da[4]) {
  const T i = v[0], o = v[1], f = v[2], g = v[3];
  const T c = f * c_prev + i * g;
  const T hc = acts.apply(2, c);
  da[1] = dh * hc * acts.grad(0, pre[1], o);
  const T dc_total = dc + dh * o * acts.grad(2, c, hc) + da[1] * p[1];
  da[0] = dc_total * g * acts.grad(0, pre[0], i);
  da[2] = dc_total * c_prev * acts.grad(0, pre[2], f);
  da[3] = dc_total * i * acts.grad(1, pre[3], g);
  return dc_total * f + da[0] * p[0] + da[2] * p[2];
}

// pre: the pre-activations lstm_unit returned (with peepholes). dh, dc: gradients of the new
// h and c. Writes the gradients of pre into da and returns that of c_prev.
template <class T, class Acts>
ENGINE_HD ENGINE_INLINE T lstm_unit_backward(const Acts& acts, const T pre[4], const T p[3],
                                             T c_prev, T dh, T dc, T da[4]) {
  const T v[4] = {acts.apply(0, pre[0]), acts.apply(0, pre[1]), acts.apply(0, pre[2]),
                  acts.apply(1, pre[3])};
  return lstm_gates_backward(acts, pre, v, p, c_prev, dh, dc, da);
}

// The new cell state from the saved pre-activations (peephole gradients need it).
template <class T, class Acts>
ENGINE_HD ENGINE_INLINE T lstm_cell_state(const Acts& acts, const T pre[4], T c_prev) {
  return acts.apply(0, pre[2]) * c_prev + acts.apply(0, pre[0]) * acts.apply(1, pre[3]);
}

// ---- GRU: gates z, r, h ------------------------------------------------------------------

// h_t from the pre-activations (pre[2] complete: the reset gate already applied).
template <class T, class Acts>
ENGINE_HD ENGINE_INLINE T gru_unit(const Acts& acts, const T pre[3], T h_prev) {
  const T z = acts.apply(0, pre[0]);
  const T hh = acts.apply(1, pre[2]);
  return (T(1) - z) * hh + z * h_prev;
}

// Gradients of pre z and h and the direct part of dh_prev (z dh); the reset gate's
// gradient depends on linear_before_reset and is the caller's (dpre_h feeds it).
template <class T, class Acts>
ENGINE_HD ENGINE_INLINE T gru_unit_backward(const Acts& acts, const T pre[3], T h_prev, T dh,
                                            T& da_z, T& da_h) {
  const T z = acts.apply(0, pre[0]);
  const T hh = acts.apply(1, pre[2]);
  da_h = dh * (T(1) - z) * acts.grad(1, pre[2], hh);
  da_z = dh * (h_prev - hh) * acts.grad(0, pre[0], z);
  return dh * z;
}

}  // namespace engine
