// ONNX Cast between the engine's dtypes: float32, int64 and bool (`to` = 1, 7 or 9).
//   float32 -> int64 truncates toward zero (NaN and values out of int64's range give
//   INT64_MIN, as x86's conversion and onnxruntime); to bool: x != 0 (NaN is true); from
//   bool: 0 or 1. Backward: float32 -> float32 passes the gradient; the other casts have none.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

// The engine dtype of an ONNX TensorProto data type `to`; an error naming `op` for the others.
DType cast_target(const char* op, int64_t to);
void cast_forward(const Tensor& x, Tensor& y);  // y's dtype is the target

struct CastKernels {
  void (*convert)(DType from, DType to, int64_t n, const void* x, void* y);
};
CastKernels cast_ref_kernels();
CastKernels cast_cpu_kernels();

}  // namespace engine
