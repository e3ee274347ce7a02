// The softmax of one contiguous row (the common case: the last axis), included by
// softmax_cpu.cpp (baseline ISA) and softmax_cpu_avx2.cpp (AVX2/FMA): the anonymous
// namespace gives each its own copy, compiled for its ISA.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/fast_math.h"

namespace engine {

using SoftmaxRow = void (*)(int64_t len, const float* x, float* y);

namespace {

// One contiguous row. Max and sum keep sixteen partial results (they vectorize, with
// FastMath's exp); the sum adds its float partials into a double every 1024 elements, so
// long rows keep full float accuracy.
template <bool Log>
void softmax_row(int64_t len, const float* x, float* y) {
  constexpr int64_t kParts = 16, kChunk = 1024;
  float part[kParts];
  std::fill(part, part + kParts, -std::numeric_limits<float>::infinity());
  int64_t l = 0;
  for (; l + kParts <= len; l += kParts)
    for (int64_t j = 0; j < kParts; ++j) part[j] = x[l + j] > part[j] ? x[l + j] : part[j];
  for (; l < len; ++l) part[0] = x[l] > part[0] ? x[l] : part[0];
  float m = part[0];
  for (int64_t j = 1; j < kParts; ++j) m = part[j] > m ? part[j] : m;
  double s = 0.0;
  for (int64_t c = 0; c < len; c += kChunk) {
    const int64_t end = std::min(len, c + kChunk);
    std::fill(part, part + kParts, 0.0f);
    for (l = c; l + kParts <= end; l += kParts)
      for (int64_t j = 0; j < kParts; ++j) {
        const float e = FastMath::exp(x[l + j] - m);
        if constexpr (!Log) y[l + j] = e;  // rescaled below; safe when y aliases x
        part[j] += e;
      }
    for (; l < end; ++l) {
      const float e = FastMath::exp(x[l] - m);
      if constexpr (!Log) y[l] = e;
      part[0] += e;
    }
    for (int64_t j = 0; j < kParts; ++j) s += part[j];
  }
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
