// The sum of a row's terms for the row-wise kernels (LayerNormalization, Softmax): sixteen
// float partial sums, which vectorize where one double accumulator is a serial chain of
// adds, added into a double every 1024 terms, so that long rows keep full float accuracy.
//
// Internal linkage on purpose: each ISA's file compiles its own copy with its own flags.
#pragma once

#include <algorithm>
#include <cstdint>

namespace engine {
namespace {

// sum of term(l) over l in [0, n), term called once per l in increasing order
template <class Term>
double row_sum(int64_t n, Term&& term) {
  constexpr int64_t kLanes = 16, kChunk = 1024;  // a lane adds at most 64 terms in float
  double sum = 0.0;
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t end = std::min(n, c + kChunk);
    float part[kLanes] = {};
    int64_t l = c;
    for (; l + kLanes <= end; l += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) part[j] += term(l + j);
    for (; l < end; ++l) part[0] += term(l);
    for (int64_t j = 0; j < kLanes; ++j) sum += part[j];
  }
  return sum;
}

}  // namespace
}  // namespace engine
