// Helpers shared by the op folders: argument checks.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

// Normalises a possibly negative axis against `ndim`, naming the op in the error.
inline int normalize_axis(int64_t axis, int ndim, const char* op) {
  ENGINE_CHECK(axis >= -ndim && axis < ndim, op, ": axis ", axis, " out of range for rank ",
               ndim);
  return static_cast<int>(axis < 0 ? axis + ndim : axis);
}

}  // namespace engine
