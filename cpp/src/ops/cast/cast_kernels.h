// The conversions, written once over a loop policy (ops/broadcast_loop.h): SerialLoop for
// the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "core/hd.h"
#include "ops/broadcast_loop.h"
#include "ops/cast/cast.h"

namespace engine {

template <class To, class From>
ENGINE_HD To cast_value(From v) {
  if constexpr (std::is_same<To, bool>::value) {
    return v != From(0);
  } else if constexpr (std::is_same<To, int64_t>::value && std::is_same<From, float>::value) {
    // 2^63 is exact in float; a float-to-int conversion out of range is undefined in C++.
    const bool in_range = v >= -9.2233720368547758e18f && v < 9.2233720368547758e18f;
    return in_range ? static_cast<int64_t>(v) : INT64_MIN;
  } else {
    return static_cast<To>(v);
  }
}

template <class Loop, class From, class To>
void cast_as(int64_t n, const From* x, To* y) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) { y[i] = cast_value<To>(x[i]); });
}

template <class Loop, class From>
void cast_from(DType to, int64_t n, const From* x, void* y) {
  switch (to) {
    case DType::Float32: return cast_as<Loop>(n, x, static_cast<float*>(y));
    case DType::Int64: return cast_as<Loop>(n, x, static_cast<int64_t*>(y));
    case DType::Bool: return cast_as<Loop>(n, x, static_cast<bool*>(y));
  }
}

template <class Loop>
void cast_convert(DType from, DType to, int64_t n, const void* x, void* y) {
  switch (from) {
    case DType::Float32: return cast_from<Loop>(to, n, static_cast<const float*>(x), y);
    case DType::Int64: return cast_from<Loop>(to, n, static_cast<const int64_t*>(x), y);
    case DType::Bool: return cast_from<Loop>(to, n, static_cast<const bool*>(x), y);
  }
}

template <class Loop>
CastKernels cast_kernels_for() {
  CastKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.convert = &cast_convert<Loop>;
  return kernels;
}

}  // namespace engine
