// Helpers shared by the op folders: device/implementation dispatch and argument checks.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/engine.h"
#include "engine/tensor.h"

namespace engine {

// True when tests asked for the naive reference kernels instead of the optimized ones.
inline bool use_reference_kernels() { return get_kernel_impl() == KernelImpl::Reference; }

// Normalises a possibly negative axis against `ndim`, naming the op in the error.
inline int normalize_axis(int64_t axis, int ndim, const char* op) {
  ENGINE_CHECK(axis >= -ndim && axis < ndim, op, ": axis ", axis, " out of range for rank ",
               ndim);
  return static_cast<int>(axis < 0 ? axis + ndim : axis);
}

}  // namespace engine
