// The activation formulas, written once as templates over the scalar type: the CPU
// and CUDA kernels instantiate them in float, the reference kernels in double.
#pragma once

#include <cmath>

#include "core/hd.h"
#include "ops/activation/activation.h"

namespace engine {

template <Activation op> struct ActivationMath;

template <> struct ActivationMath<Activation::Relu> {
  // NaN passes forward (as numpy, PyTorch and onnxruntime) and takes the gradient.
  template <class T> ENGINE_HD static T f(T x, T, T) { return x < T(0) ? T(0) : x; }
  template <class T> ENGINE_HD static T df(T x, T, T, T) { return x <= T(0) ? T(0) : T(1); }
};
template <> struct ActivationMath<Activation::LeakyRelu> {
  template <class T> ENGINE_HD static T f(T x, T alpha, T) { return x >= T(0) ? x : alpha * x; }
  template <class T> ENGINE_HD static T df(T x, T, T alpha, T) { return x >= T(0) ? T(1) : alpha; }
};
template <> struct ActivationMath<Activation::Elu> {
  template <class T> ENGINE_HD static T f(T x, T alpha, T) { return x > T(0) ? x : alpha * std::expm1(x); }
  template <class T> ENGINE_HD static T df(T x, T y, T alpha, T) { return x > T(0) ? T(1) : y + alpha; }
};
template <> struct ActivationMath<Activation::Selu> {
  template <class T> ENGINE_HD static T f(T x, T alpha, T gamma) {
    return x > T(0) ? gamma * x : gamma * alpha * std::expm1(x);
  }
  template <class T> ENGINE_HD static T df(T x, T y, T alpha, T gamma) {
    return x > T(0) ? gamma : y + gamma * alpha;
  }
};
template <> struct ActivationMath<Activation::Sigmoid> {
  // Split by sign so exp never overflows.
  template <class T> ENGINE_HD static T f(T x, T, T) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <class T> ENGINE_HD static T df(T, T y, T, T) { return y * (T(1) - y); }
};
template <> struct ActivationMath<Activation::Tanh> {
  template <class T> ENGINE_HD static T f(T x, T, T) { return std::tanh(x); }
  template <class T> ENGINE_HD static T df(T, T y, T, T) { return T(1) - y * y; }
};
template <> struct ActivationMath<Activation::Softplus> {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
  template <class T> ENGINE_HD static T f(T x, T, T) {
    return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
  }
  template <class T> ENGINE_HD static T df(T x, T, T, T) { return ActivationMath<Activation::Sigmoid>::f(x, T(0), T(0)); }
};

}  // namespace engine
