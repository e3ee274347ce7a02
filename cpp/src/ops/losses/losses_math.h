// The per-element loss formulas l(p, t) and their partial derivatives, written once as
// templates over the scalar type: the CPU and CUDA kernels instantiate them in float, the
// reference kernels in double. `delta` is Huber's threshold (ignored by the others).
// Written with min/max rather than branches where they can be: random signs would defeat
// branch prediction, and the selects vectorise.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/hd.h"
#include "ops/losses/losses.h"

namespace engine {

// Keras's clip bounds for probabilities, as float32 values (1 - 1e-7 rounds to 1 - 2^-23):
// the double reference clips to the same numbers as the float kernels.
constexpr float kProbLow = 1e-7f;
constexpr float kProbHigh = 1.0f - 1e-7f;

template <class T> ENGINE_HD bool probability_clipped(T p) { return p < T(kProbLow) || p > T(kProbHigh); }
template <class T> ENGINE_HD T clip_probability(T p) {
  return p < T(kProbLow) ? T(kProbLow) : (p > T(kProbHigh) ? T(kProbHigh) : p);
}

template <LossKind kind> struct PointwiseLossMath;

template <> struct PointwiseLossMath<LossKind::MeanSquaredError> {
  template <class T> ENGINE_HD static T value(T p, T t, T) { return (p - t) * (p - t); }
  template <class T> ENGINE_HD static T dpred(T p, T t, T) { return T(2) * (p - t); }
  template <class T> ENGINE_HD static T dtarget(T p, T t, T) { return T(-2) * (p - t); }
};

template <> struct PointwiseLossMath<LossKind::MeanAbsoluteError> {
  template <class T> ENGINE_HD static T sign(T x) { return T(x > T(0)) - T(x < T(0)); }
  template <class T> ENGINE_HD static T value(T p, T t, T) { return std::fabs(p - t); }
  template <class T> ENGINE_HD static T dpred(T p, T t, T) { return sign(p - t); }
  template <class T> ENGINE_HD static T dtarget(T p, T t, T) { return -sign(p - t); }
};

template <> struct PointwiseLossMath<LossKind::Huber> {
  // With m = min(|x|, delta): 0.5 m^2 + delta (|x| - m) is both branches at once.
  template <class T> ENGINE_HD static T value(T p, T t, T delta) {
    const T a = std::fabs(p - t), m = std::min(a, delta);
    return T(0.5) * m * m + delta * (a - m);
  }
  template <class T> ENGINE_HD static T dpred(T p, T t, T delta) {
    return std::min(std::max(p - t, -delta), delta);
  }
  template <class T> ENGINE_HD static T dtarget(T p, T t, T delta) { return -dpred(p, t, delta); }
};

template <> struct PointwiseLossMath<LossKind::BinaryCrossEntropyFromLogits> {
  // log(1 + e^z) - z t written so that neither exp overflows nor log1p loses the tail.
  template <class T> ENGINE_HD static T value(T z, T t, T) {
    return std::max(z, T(0)) - z * t + std::log1p(std::exp(-std::fabs(z)));
  }
  template <class T> ENGINE_HD static T dpred(T z, T t, T) {
    const T e = std::exp(-std::fabs(z));  // sigmoid split by sign: e never overflows
    const T sigmoid = z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    return sigmoid - t;
  }
  template <class T> ENGINE_HD static T dtarget(T z, T, T) { return -z; }
};

template <> struct PointwiseLossMath<LossKind::BinaryCrossEntropy> {
  template <class T> ENGINE_HD static T value(T p, T t, T) {
    const T q = clip_probability(p);
    return -(t * std::log(q) + (T(1) - t) * std::log(T(1) - q));
  }
  // Clipping is constant outside [eps, 1 - eps], so no gradient flows there (as in Keras).
  template <class T> ENGINE_HD static T dpred(T p, T t, T) {
    if (probability_clipped(p)) return T(0);
    return (p - t) / (p * (T(1) - p));
  }
  template <class T> ENGINE_HD static T dtarget(T p, T, T) {
    const T q = clip_probability(p);
    return std::log(T(1) - q) - std::log(q);
  }
};

// Turns a run-time pointwise LossKind into a compile-time one: fn(PointwiseLossMath<kind>{}).
template <class Fn>
void dispatch_pointwise_loss(LossKind kind, Fn&& fn) {
  using K = LossKind;
  switch (kind) {
    case K::MeanSquaredError: fn(PointwiseLossMath<K::MeanSquaredError>{}); return;
    case K::MeanAbsoluteError: fn(PointwiseLossMath<K::MeanAbsoluteError>{}); return;
    case K::Huber: fn(PointwiseLossMath<K::Huber>{}); return;
    case K::BinaryCrossEntropy: fn(PointwiseLossMath<K::BinaryCrossEntropy>{}); return;
    case K::BinaryCrossEntropyFromLogits:
      fn(PointwiseLossMath<K::BinaryCrossEntropyFromLogits>{});
      return;
    case K::CategoricalCrossEntropy: break;
  }
  // The only other kind; no loss_name() here: the CUDA plugin cannot call into libengine.
  fail(ErrorKind::Value, "not a pointwise loss: categorical_cross_entropy");
}

}  // namespace engine
