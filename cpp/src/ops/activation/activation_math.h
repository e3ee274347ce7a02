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
  template <class T> ENGINE_HD static T log(T x) { return std::log(x); }
  template <class T> ENGINE_HD static T sqrt(T x) { return std::sqrt(x); }
  template <class T> ENGINE_HD static T erf(T x) { return std::erf(x); }
  template <class T> ENGINE_HD static T floor(T x) { return std::floor(x); }
  template <class T> ENGINE_HD static T ceil(T x) { return std::ceil(x); }
  template <class T> ENGINE_HD static T sin(T x) { return std::sin(x); }
  template <class T> ENGINE_HD static T cos(T x) { return std::cos(x); }
  template <class T> ENGINE_HD static T tan(T x) { return std::tan(x); }
  template <class T> ENGINE_HD static T asin(T x) { return std::asin(x); }
  template <class T> ENGINE_HD static T acos(T x) { return std::acos(x); }
  template <class T> ENGINE_HD static T atan(T x) { return std::atan(x); }
  template <class T> ENGINE_HD static T sinh(T x) { return std::sinh(x); }
  template <class T> ENGINE_HD static T cosh(T x) { return std::cosh(x); }
  template <class T> ENGINE_HD static T asinh(T x) { return std::asinh(x); }
  template <class T> ENGINE_HD static T acosh(T x) { return std::acosh(x); }
  template <class T> ENGINE_HD static T atanh(T x) { return std::atanh(x); }
  // Ties to even in the default rounding mode (ONNX Round).
  template <class T> ENGINE_HD static T nearbyint(T x) { return std::nearbyint(x); }
};

// The attributes in the formulas' scalar type.
template <class T>
struct ActivationParams {
  T alpha, beta, gamma;
  ActivationParams() = default;
  ENGINE_HD explicit ActivationParams(const ActivationAttrs& a)
      : alpha(T(a.alpha)), beta(T(a.beta)), gamma(T(a.gamma)) {}
};

template <Activation op> struct ActivationMath;

// 1, -1, or 0 at 0 (and for NaN).
template <class T>
ENGINE_HD T sign_of(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

// f(x, p) is the activation; df(x, y, p) its derivative at x, where y = f(x, p).
#define ENGINE_FORMULA template <class T, class M = StdMath> ENGINE_HD static T
#define ENGINE_PARAMS const ActivationParams<T>&

template <> struct ActivationMath<Activation::Relu> {
  // NaN passes forward (as numpy, PyTorch and onnxruntime) and takes the gradient.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return x < T(0) ? T(0) : x; }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return x <= T(0) ? T(0) : T(1); }
};
template <> struct ActivationMath<Activation::LeakyRelu> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) { return x >= T(0) ? x : p.alpha * x; }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) { return x >= T(0) ? T(1) : p.alpha; }
};
template <> struct ActivationMath<Activation::Elu> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) { return x > T(0) ? x : p.alpha * M::expm1(x); }
  ENGINE_FORMULA df(T x, T y, ENGINE_PARAMS p) { return x > T(0) ? T(1) : y + p.alpha; }
};
template <> struct ActivationMath<Activation::Selu> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) {
    return x > T(0) ? p.gamma * x : p.gamma * p.alpha * M::expm1(x);
  }
  ENGINE_FORMULA df(T x, T y, ENGINE_PARAMS p) {
    return x > T(0) ? p.gamma : y + p.gamma * p.alpha;
  }
};
template <> struct ActivationMath<Activation::Sigmoid> {
  // e^-|x| never overflows; one exp, a select and one division (the select picks the
  // numerator, so a vectorized loop does not compute both quotients).
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) {
    const T e = M::exp(-M::fabs(x));
    return (x >= T(0) ? T(1) : e) / (T(1) + e);
  }
  ENGINE_FORMULA df(T, T y, ENGINE_PARAMS) { return y * (T(1) - y); }
};
template <> struct ActivationMath<Activation::Tanh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::tanh(x); }
  ENGINE_FORMULA df(T, T y, ENGINE_PARAMS) { return T(1) - y * y; }
};
template <> struct ActivationMath<Activation::Softplus> {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) {
    return (x > T(0) ? x : T(0)) + M::log1p(M::exp(-M::fabs(x)));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) {
    return ActivationMath<Activation::Sigmoid>::template f<T, M>(x, p);
  }
};
template <> struct ActivationMath<Activation::Exp> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::exp(x); }
  ENGINE_FORMULA df(T, T y, ENGINE_PARAMS) { return y; }
};
template <> struct ActivationMath<Activation::Log> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::log(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / x; }
};
template <> struct ActivationMath<Activation::Sqrt> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::sqrt(x); }
  ENGINE_FORMULA df(T, T y, ENGINE_PARAMS) { return T(0.5) / y; }
};
template <> struct ActivationMath<Activation::Abs> {
  // The subgradient 0 at the kink, as PyTorch and TensorFlow take it.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::fabs(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return sign_of(x); }
};
template <> struct ActivationMath<Activation::Neg> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return -x; }
  ENGINE_FORMULA df(T, T, ENGINE_PARAMS) { return T(-1); }
};
template <> struct ActivationMath<Activation::Reciprocal> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return T(1) / x; }
  ENGINE_FORMULA df(T, T y, ENGINE_PARAMS) { return -(y * y); }
};
template <> struct ActivationMath<Activation::Erf> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::erf(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    return T(1.1283791670955126) * M::exp(-(x * x));  // 2 / sqrt(pi) e^(-x^2)
  }
};
template <> struct ActivationMath<Activation::Softsign> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return x / (T(1) + M::fabs(x)); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    const T d = T(1) + M::fabs(x);
    return T(1) / (d * d);
  }
};
template <> struct ActivationMath<Activation::HardSigmoid> {
  // max(0, min(1, alpha x + beta)); the derivative is alpha strictly inside (0, 1).
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) {
    const T z = p.alpha * x + p.beta;
    return z > T(1) ? T(1) : (z > T(0) ? z : T(0));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) {
    const T z = p.alpha * x + p.beta;
    return z > T(0) && z < T(1) ? p.alpha : T(0);
  }
};
template <> struct ActivationMath<Activation::HardSwish> {
  // x HardSigmoid(x) with alpha 1/6, beta 1/2 (fixed by ONNX): x, 0, or x (x + 3) / 6
  // between -3 and 3.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) {
    const T z = x * T(1.0 / 6.0) + T(0.5);
    return x * (z > T(1) ? T(1) : (z > T(0) ? z : T(0)));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    return x > T(3) ? T(1) : (x < T(-3) ? T(0) : x * T(1.0 / 3.0) + T(0.5));
  }
};
template <> struct ActivationMath<Activation::Gelu> {
  // x Phi(x) = x (1 + erf(x / sqrt 2)) / 2; the derivative Phi(x) + x phi(x).
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) {
    return T(0.5) * x * (T(1) + M::erf(x * T(0.70710678118654752)));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    return T(0.5) * (T(1) + M::erf(x * T(0.70710678118654752))) +
           x * T(0.39894228040143268) * M::exp(T(-0.5) * x * x);  // 1 / sqrt(2 pi)
  }
};
template <> struct ActivationMath<Activation::GeluTanh> {
  // x (1 + tanh(u)) / 2 with u = sqrt(2 / pi) (x + 0.044715 x^3).
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) {
    const T u = T(0.79788456080286536) * (x + T(0.044715) * x * x * x);
    return T(0.5) * x * (T(1) + M::tanh(u));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    const T u = T(0.79788456080286536) * (x + T(0.044715) * x * x * x);
    const T t = M::tanh(u);
    return T(0.5) * (T(1) + t) +
           T(0.5) * x * (T(1) - t * t) * T(0.79788456080286536) * (T(1) + T(0.134145) * x * x);
  }
};
template <> struct ActivationMath<Activation::Sign> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return x == x ? sign_of(x) : x; }
  ENGINE_FORMULA df(T, T, ENGINE_PARAMS) { return T(0); }
};
template <> struct ActivationMath<Activation::Floor> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::floor(x); }
  ENGINE_FORMULA df(T, T, ENGINE_PARAMS) { return T(0); }
};
template <> struct ActivationMath<Activation::Ceil> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::ceil(x); }
  ENGINE_FORMULA df(T, T, ENGINE_PARAMS) { return T(0); }
};
template <> struct ActivationMath<Activation::Sin> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::sin(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return M::cos(x); }
};
template <> struct ActivationMath<Activation::Cos> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::cos(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return -M::sin(x); }
};
template <> struct ActivationMath<Activation::Tan> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::tan(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) {
    const T c = M::cos(x);
    return T(1) / (c * c);
  }
};
// 1 - x^2 as (1 - x)(1 + x): exact near |x| = 1, where the derivatives below blow up.
template <> struct ActivationMath<Activation::Asin> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::asin(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / M::sqrt((T(1) - x) * (T(1) + x)); }
};
template <> struct ActivationMath<Activation::Acos> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::acos(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(-1) / M::sqrt((T(1) - x) * (T(1) + x)); }
};
template <> struct ActivationMath<Activation::Atan> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::atan(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / (T(1) + x * x); }
};
template <> struct ActivationMath<Activation::Sinh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::sinh(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return M::cosh(x); }
};
template <> struct ActivationMath<Activation::Cosh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::cosh(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return M::sinh(x); }
};
template <> struct ActivationMath<Activation::Asinh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::asinh(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / M::sqrt(x * x + T(1)); }
};
template <> struct ActivationMath<Activation::Acosh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::acosh(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / M::sqrt((x - T(1)) * (x + T(1))); }
};
template <> struct ActivationMath<Activation::Atanh> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::atanh(x); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS) { return T(1) / ((T(1) - x) * (T(1) + x)); }
};
template <> struct ActivationMath<Activation::Round> {
  ENGINE_FORMULA f(T x, ENGINE_PARAMS) { return M::nearbyint(x); }
  ENGINE_FORMULA df(T, T, ENGINE_PARAMS) { return T(0); }
};

template <> struct ActivationMath<Activation::ThresholdedRelu> {
  // x where x > alpha, else 0.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) { return x > p.alpha ? x : T(0); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) { return x > p.alpha ? T(1) : T(0); }
};
template <> struct ActivationMath<Activation::Celu> {
  // max(0, x) + min(0, alpha (e^(x / alpha) - 1)): Elu of x / alpha, scaled by alpha.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) { return x > T(0) ? x : p.alpha * M::expm1(x / p.alpha); }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) { return x > T(0) ? T(1) : M::exp(x / p.alpha); }
};
template <> struct ActivationMath<Activation::Mish> {
  // x tanh(softplus(x)); the derivative t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x)).
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) {
    return x * M::tanh(ActivationMath<Activation::Softplus>::template f<T, M>(x, p));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) {
    const T t = M::tanh(ActivationMath<Activation::Softplus>::template f<T, M>(x, p));
    return t + x * (T(1) - t * t) * ActivationMath<Activation::Sigmoid>::template f<T, M>(x, p);
  }
};
template <> struct ActivationMath<Activation::Swish> {
  // x sigmoid(alpha x) (SiLU at alpha 1); the derivative s + alpha x s (1 - s), s the sigmoid.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) {
    return x * ActivationMath<Activation::Sigmoid>::template f<T, M>(p.alpha * x, p);
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) {
    const T s = ActivationMath<Activation::Sigmoid>::template f<T, M>(p.alpha * x, p);
    return s + p.alpha * x * s * (T(1) - s);
  }
};
template <> struct ActivationMath<Activation::Shrink> {
  // ONNX's lambd and bias as alpha and beta: x + bias below -lambd, x - bias above lambd,
  // else 0.
  ENGINE_FORMULA f(T x, ENGINE_PARAMS p) {
    return x < -p.alpha ? x + p.beta : (x > p.alpha ? x - p.beta : T(0));
  }
  ENGINE_FORMULA df(T x, T, ENGINE_PARAMS p) { return x < -p.alpha || x > p.alpha ? T(1) : T(0); }
};

#undef ENGINE_PARAMS
#undef ENGINE_FORMULA

}  // namespace engine
