// Dropout (inverted), any shape.
//   training: mask[i] = 1 with probability 1 - rate, else 0; y = x * mask / (1 - rate)
//   (a dropped NaN or Inf stays NaN, as in frameworks that multiply by the mask).
//   inference (or rate 0): y = x, mask = 1.
//   backward: dx = dy * mask / (1 - rate); an inference-mode dropout is the identity, which
//   is what an undefined mask means to backward.
//
// The mask is a pure function of (seed, element index), so results do not depend on the
// thread count, the kernel, or how the tensor is split. One 64-bit hash serves two
// elements: element i is kept when the 32-bit word
//   w(i) = i even ? dropout_hash(seed, i / 2) >> 32 : dropout_hash(seed, i / 2) & 0xFFFFFFFF
// is >= dropout_threshold(rate) = round(rate * 2^32).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// Opsets >= 12: the ratio input becomes the attribute, training_mode must be false
// (dropout_onnx.cpp).
void translate_dropout_onnx(Node& node, OnnxImportContext& ctx);

// splitmix64's finaliser applied to the seed's own stream position i + 1:
//   z = mix(seed) + (i + 1) * 0x9E3779B97F4A7C15, hash = mix(z) (i counts element pairs).
// Mixing the seed first keeps nearby seeds from producing shifted copies of one stream.
// ENGINE_HD: the CUDA kernel draws the same mask as the CPU ones from the same seed.
ENGINE_HD inline uint64_t dropout_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
ENGINE_HD inline uint64_t dropout_hash(uint64_t seed, uint64_t i) {
  return dropout_mix64(dropout_mix64(seed) + (i + 1) * 0x9E3779B97F4A7C15ull);
}
// The 32-bit threshold for `rate` in [0, 1): keep when w(i) >= threshold.
uint64_t dropout_threshold(float rate);

// rate in [0, 1) (ValueError otherwise). `mask` may be undefined (not needed).
void dropout_forward(const Tensor& x, float rate, uint64_t seed, bool training, Tensor& y,
                     Tensor& mask);
// dx overwritten; `mask` undefined means the forward ran in inference mode (dx = dy).
void dropout_backward(const Tensor& dy, const Tensor& mask, float rate, Tensor& dx);
// mask = 1 everywhere: the mask output of an inference-mode dropout.
void dropout_keep_all(Tensor& mask);

// The kernel seed of a graph node's mask at training step `step`: the node's seed itself
// at step 0 (what the functional API uses), a different stream every step after.
inline uint64_t dropout_step_seed(uint64_t seed, uint64_t step) {
  return seed + step * 0x9E3779B97F4A7C15ull;
}

// Kernels over n contiguous floats. forward: `mask` may be null. backward:
// dx = dy * mask * inv_keep. keep_all: mask = 1.
struct DropoutKernels {
  void (*forward)(int64_t n, const float* x, uint64_t threshold, float inv_keep, uint64_t seed,
                  float* y, float* mask);
  void (*backward)(int64_t n, const float* dy, const float* mask, float inv_keep, float* dx);
  void (*keep_all)(int64_t n, float* mask);
};
void dropout_forward_cpu(int64_t n, const float* x, uint64_t threshold, float inv_keep,
                         uint64_t seed, float* y, float* mask);
void dropout_forward_ref(int64_t n, const float* x, uint64_t threshold, float inv_keep,
                         uint64_t seed, float* y, float* mask);
void dropout_backward_cpu(int64_t n, const float* dy, const float* mask, float inv_keep,
                          float* dx);
void dropout_backward_ref(int64_t n, const float* dy, const float* mask, float inv_keep,
                          float* dx);
void dropout_keep_all_cpu(int64_t n, float* mask);  // the reference table's too

}  // namespace engine
