// Float exp, expm1, tanh, log1p and erf for the CPU kernels, written branch-free (selects, no
// calls) so that the compiler vectorizes the loops that use them: libm's versions are scalar
// calls, which made tanh-heavy models (and GELU's erf) spend most of their time in libm.
//
// Accuracy against float64 over the float range: exp within 1 ulp, expm1, tanh and erf within
// 1.5 ulp, log1p within 3.5 ulp (cpp/tests/test_fast_math.cpp sweeps them); inf, -inf and NaN
// map as libm maps them, and tiny results go gradually through denormals.
//
//   e^x = 2^n * e^r, n = round(x / ln 2), |r| <= ln2 / 2,
//   e^r = 1 + r + r^2 P(r), P a degree-5 fit of (e^r - 1 - r) / r^2 on that interval.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace engine {

struct FastMath {
  // 2^n for an integral n in [-150, 128], as the product of two normal floats (one float
  // alone cannot hold 2^-150 or 2^128).
  struct Scale {
    float a, b;
  };
  static Scale pow2(float n) {
    const int32_t i = static_cast<int32_t>(n);
    const int32_t half = i / 2;
    return {from_exponent(half), from_exponent(i - half)};
  }
  static float from_exponent(int32_t e) {
    const uint32_t bits = static_cast<uint32_t>(e + 127) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }

  // x = n ln2 + r; returns n and sets q = r + r^2 P(r) = e^r - 1.
  static float reduce(float x, float& q) {
    // Past these bounds the result is inf or 0 anyway; the clamp keeps n an int32. NaN
    // becomes 0 here (a float-to-int conversion of NaN is undefined); the callers return x.
    float c = x > 89.0f ? 89.0f : x;
    c = c < -104.0f ? -104.0f : c;
    c = c == c ? c : 0.0f;
    return reduce_in_range(c, q);
  }
  // The same for a finite |x| < 2^22 ln2.
  static float reduce_in_range(float c, float& q) {
    // Round to nearest by adding and removing 1.5 * 2^23 (|x / ln2| < 2^22).
    constexpr float kRound = 12582912.0f;
    const float n = (c * 1.44269504088896341f + kRound) - kRound;
    // ln 2 in two parts: n * kLn2Hi is exact for |n| <= 2^10.
    constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440054690583e-4f;
    const float r = (c - n * kLn2Hi) - n * kLn2Lo;
    float p = 1.98992798686958850e-4f;
    p = p * r + 1.39336509164422750e-3f;
    p = p * r + 8.33329837769269940e-3f;
    p = p * r + 4.16664667427539830e-2f;
    p = p * r + 1.66666671633720400e-1f;
    p = p * r + 0.5f;
    q = r + r * r * p;
    return n;
  }

  static float exp(float x) {
    float q;
    const Scale s = pow2(reduce(x, q));
    const float y = ((1.0f + q) * s.a) * s.b;
    return x == x ? y : x;
  }

  // e^x - 1 = 2^n q + (2^n - 1): exact to rounding near 0, where e^x - 1 would cancel.
  // For large n, e^x - 1 (2^n alone may overflow where e^x does not).
  static float expm1(float x) {
    float q;
    const float n = reduce(x, q);
    const Scale s = pow2(n);
    const float two_n = s.a * s.b;
    const float near = (q * s.a) * s.b + (two_n - 1.0f);
    const float far = ((1.0f + q) * s.a) * s.b - 1.0f;
    const float y = n > 24.0f ? far : near;
    return x == x ? y : x;
  }

  // |x| < 0.625: x + x^3 Q(x^2), a degree-5 fit; beyond: 1 - 2 / (e^{2|x|} + 1), signed.
  // There 2|x| lies in [1.25, 18.4] once clamped at 9.2 (past which tanh rounds to 1), so
  // e^{2|x|} needs neither exp's range clamps nor its two-part scale: 1.4x faster.
  static float tanh(float x) {
    const float ax = std::fabs(x);
    const float z = x * x;
    float q = 2.33887857757508750e-3f;
    q = q * z - 8.38569365441799160e-3f;
    q = q * z + 2.17820145189762120e-2f;
    q = q * z - 5.39609156548976900e-2f;
    q = q * z + 1.33333101868629460e-1f;
    q = q * z - 3.33333343267440800e-1f;
    const float small = x + x * z * q;
    float e_r;
    const float n = reduce_in_range(2.0f * (ax < 9.2f ? ax : 9.2f), e_r);
    const float e = (1.0f + e_r) * from_exponent(static_cast<int32_t>(n));
    const float large = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
    const float y = ax < 0.625f ? small : large;
    return x == x ? y : x;
  }

  // A cheaper, looser tanh for the recurrent cells, whose loops evaluate several per hidden
  // unit and step (an LSTM's cell update cost as much as a third of its GEMMs): a rational
  // function x P(x^2) / Q(x^2) (degrees 13 and 6) of x clamped to +-7.905, within 7 ulp
  // (4e-7 relative; 5 with FMA), one division and no exp. NaN passes through.
  static float tanh_rational(float x) {
    constexpr float kClamp = 7.90531110763549805f;
    float c = x > kClamp ? kClamp : x;
    c = c < -kClamp ? -kClamp : c;
    const float z = c * c;
    float p = -2.76076847742355e-16f;
    p = p * z + 2.00018790482477e-13f;
    p = p * z - 8.60467152213735e-11f;
    p = p * z + 5.12229709037114e-08f;
    p = p * z + 1.48572235717979e-05f;
    p = p * z + 6.37261928875436e-04f;
    p = p * z + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * z + 1.18534705686654e-04f;
    q = q * z + 2.26843463243900e-03f;
    q = q * z + 4.89352518554385e-03f;
    return c * p / q;
  }

  // 1 / (1 + e^-x) for the recurrent cells, with e^-x over [-87, 88] only (one scale, no
  // range clamps or two-part scale): as accurate as from exp where the result is a normal
  // float, and about 6e-39 instead of smaller values below x = -88.
  static float sigmoid_normal(float x) {
    const float c = x < -88.0f ? 88.0f : (x > 87.0f ? -87.0f : -x);
    float q;
    const float n = reduce_in_range(c == c ? c : 0.0f, q);
    const float e = (1.0f + q) * from_exponent(static_cast<int32_t>(n));
    const float y = 1.0f / (1.0f + e);
    return x == x ? y : x;
  }

  // log(1 + u) = k ln2 + 2 atanh((m - 1) / (m + 1)) + c, where 1 + u = 2^k m rounded,
  // m in [sqrt(1/2), sqrt(2)), and c = (u - ((1 + u) - 1)) / (1 + u) puts back what the
  // rounding of 1 + u lost (so tiny u stay exact).
  static float log1p(float u) {
    const float w = 1.0f + u;
    uint32_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    // m from w's mantissa with the exponent of 1 (or of 1/2 above sqrt(2)).
    const uint32_t mant = bits & 0x007fffffu;
    const bool high = mant > 0x3504f3u;  // m > sqrt(2)
    const uint32_t m_bits = mant | (high ? 0x3f000000u : 0x3f800000u);
    float m;
    std::memcpy(&m, &m_bits, sizeof m);
    const float k = static_cast<float>(static_cast<int32_t>(bits >> 23) - (high ? 126 : 127));
    const float s = (m - 1.0f) / (m + 1.0f), z = s * s;
    float t = 0.222222222f;  // the atanh series: 2 s (1 + z/3 + z^2/5 + z^3/7 + z^4/9)
    t = t * z + 0.285714286f;
    t = t * z + 0.4f;
    t = t * z + 0.666666667f;
    t = t * z + 2.0f;
    const float c = (u - (w - 1.0f)) / w;
    const float y = k * 0.693359375f + (s * t + (k * -2.12194440054690583e-4f + c));
    // w = 0 (u = -1), u < -1, inf and NaN go as libm's.
    const float inf = std::numeric_limits<float>::infinity();
    const float special = u == -1.0f ? -inf : (u < -1.0f ? std::numeric_limits<float>::quiet_NaN() : u);
    return (u > -1.0f && u < inf) ? y : special;
  }
  // |x| < 0.875: x + x R(x^2), R a degree-6 fit of erf(x)/x - 1 (adding x last keeps
  // the leading term exact). Beyond: 1 - e^{-x^2} S(|x| - 2.4), signed, S a degree-12 fit
  // of erfc(x) e^{x^2} on [0.875, 3.925]; past 3.925 erf rounds to 1 (the clamp keeps S
  // bounded, e^{-x^2} does the rest). Both are least-squares fits reweighted towards
  // minimax.
  static float erf(float x) {
    const float ax = std::fabs(x);
    const float z = x * x;
    float r = 8.696015720488504e-05f;
    r = r * z - 8.215836714953184e-04f;
    r = r * z + 5.207153968513012e-03f;
    r = r * z - 2.686174586415291e-02f;
    r = r * z + 1.128373593091965e-01f;
    r = r * z - 3.761263489723206e-01f;
    r = r * z + 1.283791661262512e-01f;
    const float small = x + x * r;
    const float t = (ax < 3.925f ? ax : 3.925f) - 2.4f;
    float q = 1.398854863055021e-07f;
    q = q * t - 5.912049800826935e-07f;
    q = q * t + 1.305671958107268e-06f;
    q = q * t - 4.765822268382181e-06f;
    q = q * t + 2.043430140474811e-05f;
    q = q * t - 7.429967081407085e-05f;
    q = q * t + 2.570264914538711e-04f;
    q = q * t - 8.728288812562823e-04f;
    q = q * t + 2.867648843675852e-03f;
    q = q * t - 9.066376835107803e-03f;
    q = q * t + 2.749416418373585e-02f;
    q = q * t - 7.958522439002991e-02f;
    q = q * t + 2.184987366199493e-01f;
    const float large = std::copysign(1.0f - exp(-z) * q, x);
    const float y = ax < 0.875f ? small : large;
    return x == x ? y : x;
  }
  static float fabs(float x) { return std::fabs(x); }
  // The rest are libm's: sqrt, floor, ceil and nearbyint compile to vector instructions
  // anyway; log and the trigonometric and hyperbolic functions stay scalar calls (no model
  // spends its time in them yet).
  static float sqrt(float x) { return std::sqrt(x); }
  static float floor(float x) { return std::floor(x); }
  static float ceil(float x) { return std::ceil(x); }
  static float log(float x) { return std::log(x); }
  static float sin(float x) { return std::sin(x); }
  static float cos(float x) { return std::cos(x); }
  static float tan(float x) { return std::tan(x); }
  static float asin(float x) { return std::asin(x); }
  static float acos(float x) { return std::acos(x); }
  static float atan(float x) { return std::atan(x); }
  static float sinh(float x) { return std::sinh(x); }
  static float cosh(float x) { return std::cosh(x); }
  static float asinh(float x) { return std::asinh(x); }
  static float acosh(float x) { return std::acosh(x); }
  static float atanh(float x) { return std::atanh(x); }
  static float nearbyint(float x) { return std::nearbyint(x); }
};

}  // namespace engine
