// The softmax of one contiguous row (the common case: the last axis), included by
// softmax_cpu.cpp (baseline ISA) and softmax_cpu_avx2.cpp (AVX2/FMA): the anonymous
// namespace gives each its own copy, compiled for its ISA.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/fast_math.h"
#include "cpu/row_sum.h"

namespace engine {

using SoftmaxRow = void (*)(int64_t len, const float* x, float* y);

namespace {

// One contiguous row. The max keeps sixteen partial results and the sum is row_sum's, so
// both vectorize (with FastMath's exp).
template <bool Log>
void softmax_row(int64_t len, const float* x, float* y) {
  constexpr int64_t kParts = 16;
  float part[kParts];
  std::fill(part, part + kParts, -std::numeric_limits<float>::infinity());
  int64_t l = 0;
  for (; l + kParts <= len; l += kParts)
    for (int64_t j = 0; j < kParts; ++j) part[j] = x[l + j] > part[j] ? x[l + j] : part[j];
  for (; l < len; ++l) part[0] = x[l] > part[0] ? x[l] : part[0];
  float m = part[0];
  for (int64_t j = 1; j < kParts; ++j) m = part[j] > m ? part[j] : m;
  const double s = row_sum(len, [&](int64_t i) {
    const float e = FastMath::exp(x[i] - m);
    if constexpr (!Log) y[i] = e;  // rescaled below; safe when y aliases x
    return e;
  });
  if constexpr (Log) {
    const float f = static_cast<float>(std::log(s));
    // (x - m) first: exact for the large entries even when |x| is huge.
    for (l = 0; l < len; ++l) y[l] = (x[l] - m) - f;
  } else {
    const float f = static_cast<float>(1.0 / s);
    for (l = 0; l < len; ++l) y[l] *= f;
  }
}

}  // namespace
}  // namespace engine
