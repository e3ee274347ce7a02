// RandomNormalLike and RandomUniformLike: a float32 tensor of the input's shape, filled with
// draws from N(mean, scale^2) or U[low, high).
//
// Element i is a pure function of (seed, i), so the values do not depend on the thread
// count, the kernel or the device: its 64-bit hash h = dropout_hash(seed, i) gives two
// 32-bit words u1 = (h >> 32) + 1/2 and u2 = (h & 0xFFFFFFFF) + 1/2, each scaled by 2^-32
// into (0, 1); uniform: low + (high - low) * u1; normal (Box-Muller):
// mean + scale * sqrt(-2 ln u1) * cos(2 pi u2).
// In a graph the seed moves on every call (see RunContext::step), so each training step
// and each inference call draws afresh, and the same seed replays the same sequence.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "engine/tensor.h"
#include "ops/dropout/dropout.h"

namespace engine {

enum class RandomDistribution { Normal, Uniform };

// Normal: a = mean, b = scale. Uniform: a = low, b = high.
struct RandomAttrs {
  RandomDistribution distribution = RandomDistribution::Normal;
  float a = 0.0f;
  float b = 1.0f;
};

// The draw of element i, in T (float in the CPU and CUDA kernels, double in the reference).
template <class T>
ENGINE_HD inline T random_draw(const RandomAttrs& r, uint64_t seed, uint64_t i) {
  const uint64_t h = dropout_hash(seed, i);
  const T scale32 = T(1) / T(4294967296.0);
  const T u1 = (T(h >> 32) + T(0.5)) * scale32;
  if (r.distribution == RandomDistribution::Uniform) return T(r.a) + (T(r.b) - T(r.a)) * u1;
  const T u2 = (T(h & 0xFFFFFFFFull) + T(0.5)) * scale32;
  const T two_pi = T(6.283185307179586476925286766559);
  return T(r.a) + T(r.b) * std::sqrt(T(-2) * std::log(u1)) * std::cos(two_pi * u2);
}

void random_fill(const RandomAttrs& attrs, uint64_t seed, Tensor& y);

struct RandomKernels {
  void (*fill)(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y);
};
void random_fill_ref(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y);
void random_fill_cpu(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y);

}  // namespace engine
