// The activation formulas, written once as templates over the scalar type: the CPU
// and CUDA kernels instantiate them in float, the reference kernels in double.
#pragma once

#include <cmath>

#include "core/hd.h"
#include "ops/activation/activation.h"

namespace engine {

// The elementary functions the formulas use (M below). The CPU kernels pass FastMath
// (cpu/fast_math.h: float versions that vectorize) instead.
struct StdMath {
  template <class T> ENGINE_HD static T exp(T x) { return std::exp(x); }
  template <class T> ENGINE_HD static T expm1(T x) { return std::expm1(x); }
  template <class T> ENGINE_HD static T tanh(T x) { return std::tanh(x); }
  template <class T> ENGINE_HD static T log1p(T x) { return std::log1p(x); }
  template <class T> ENGINE_HD static T fabs(T x) { return std::fabs(x); }
};

template <Activation op> struct ActivationMath;

#define ENGINE_FORMULA template <class T, class M = StdMath> ENGINE_HD static T

template <> struct ActivationMath<Activation::Relu> {
  // NaN passes forward (as numpy, PyTorch and onnxruntime) and takes the gradient.
  ENGINE_FORMULA f(T x, T, T) { return x < T(0) ? T(0) : x; }
  ENGINE_FORMULA df(T x, T, T, T) { return x <= T(0) ? T(0) : T(1); }
};
template <> struct ActivationMath<Activation::LeakyRelu> {
  ENGINE_FORMULA f(T x, T alpha, T) { return x >= T(0) ? x : alpha * x; }
  ENGINE_FORMULA df(T x, T, T alpha, T) { return x >= T(0) ? T(1) : alpha; }
};
template <> struct ActivationMath<Activation::Elu> {
  ENGINE_FORMULA f(T x, T alpha, T) { return x > T(0) ? x : alpha * M::expm1(x); }
  ENGINE_FORMULA df(T x, T y, T alpha, T) { return x > T(0) ? T(1) : y + alpha; }
};
template <> struct ActivationMath<Activation::Selu> {
  ENGINE_FORMULA f(T x, T alpha, T gamma) {
    return x > T(0) ? gamma * x : gamma * alpha * M::expm1(x);
  }
  ENGINE_FORMULA df(T x, T y, T alpha, T gamma) { return x > T(0) ? gamma : y + gamma * alpha; }
};
template <> struct ActivationMath<Activation::Sigmoid> {
  // e^-|x| never overflows; one exp and a select, so the CPU loop vectorizes.
  ENGINE_FORMULA f(T x, T, T) {
    const T e = M::exp(-M::fabs(x));
    return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
  ENGINE_FORMULA df(T, T y, T, T) { return y * (T(1) - y); }
};
template <> struct ActivationMath<Activation::Tanh> {
  ENGINE_FORMULA f(T x, T, T) { return M::tanh(x); }
  ENGINE_FORMULA df(T, T y, T, T) { return T(1) - y * y; }
};
template <> struct ActivationMath<Activation::Softplus> {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
  ENGINE_FORMULA f(T x, T, T) { return (x > T(0) ? x : T(0)) + M::log1p(M::exp(-M::fabs(x))); }
  ENGINE_FORMULA df(T x, T, T, T) {
    return ActivationMath<Activation::Sigmoid>::template f<T, M>(x, T(0), T(0));
  }
};

#undef ENGINE_FORMULA

}  // namespace engine
