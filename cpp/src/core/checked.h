// Checked integer arithmetic for sizes, offsets and output shapes: an overflow is an error
// that names what was being computed, never a wrapped value.
//   const int64_t padded = checked_add(in, pads, "Conv: the padded height ", in, " + ", pads);
#pragma once

#include <cstdint>

#include "engine/status.h"

namespace engine {

template <class... What>
int64_t checked_add(int64_t a, int64_t b, const What&... what) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) fail(ErrorKind::Value, what..., " overflows 64 bits");
  return out;
}

template <class... What>
int64_t checked_mul(int64_t a, int64_t b, const What&... what) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) fail(ErrorKind::Value, what..., " overflows 64 bits");
  return out;
}

// ceil(a / b) for a >= 0 and b > 0, without the overflow of (a + b - 1) / b when b is near
// 2^63 (a stride or dilation from a hostile file).
inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

}  // namespace engine
