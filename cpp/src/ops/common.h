// Helpers shared by the op folders: argument checks.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace engine {

// Normalises a possibly negative axis against `ndim`, naming the op in the error.
inline int normalize_axis(int64_t axis, int ndim, const char* op) {
  ENGINE_CHECK(axis >= -ndim && axis < ndim, op, ": axis ", axis, " out of range for rank ", ndim);
  return static_cast<int>(axis < 0 ? axis + ndim : axis);
}

// A dense float32 tensor of exactly `shape` (an output or gradient buffer the caller gave);
// errors start with `what`.
inline void check_shape(const Tensor& t, const Shape& shape, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == shape, what, " ", t.describe(), " does not match the expected shape ",
               shape_str(shape));
}

// The same for a tensor of `dtype`.
inline void check_shape(const Tensor& t, DType dtype, const Shape& shape, const std::string& what) {
  check_contiguous(t, what.c_str());
  ENGINE_CHECK_TYPE(t.dtype() == dtype, what, " must be ", dtype_name(dtype), ", got ",
                    dtype_name(t.dtype()));
  ENGINE_CHECK(t.shape() == shape, what, " ", t.describe(), " does not match the expected shape ",
               shape_str(shape));
}

}  // namespace engine
