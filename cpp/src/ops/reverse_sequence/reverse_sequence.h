// ONNX ReverseSequence: x [T, B, ...] (time_axis=0, batch_axis=1, the default) or [B, T, ...]
// (time_axis=1, batch_axis=0) and sequence_lens int64 [B], each in [0, T]: row b's first
// sequence_lens[b] steps in reverse order, the others as they are.
//   x float32 or int64 (other types compute in them at import) -> y, x's shape.
//   Backward (float32): the same reordering of dy (it is its own inverse). dx OVERWRITTEN.
//
// Kernels see x as [T, B, inner] or [B, T, inner]; one element per work item.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

struct ReverseSequenceAttrs {
  int64_t time_axis = 0, batch_axis = 1;
};

struct ReverseSequenceLayout {
  int64_t steps = 0, batch = 0, inner = 1;
  bool batch_major = false;  // [B, T, inner]
};

void reverse_sequence(const Tensor& x, const Tensor& lens, const ReverseSequenceAttrs& attrs,
                      Tensor& y, const char* op);

struct ReverseSequenceKernels {
  void (*f32)(const ReverseSequenceLayout& l, const int64_t* lens, const float* x, float* y);
  void (*i64)(const ReverseSequenceLayout& l, const int64_t* lens, const int64_t* x, int64_t* y);
};
ReverseSequenceKernels reverse_sequence_ref_kernels();
ReverseSequenceKernels reverse_sequence_cpu_kernels();

}  // namespace engine
