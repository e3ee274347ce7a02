// Reference kernels: plain loops in the order of the indices.
#include <cstring>

#include "ops/gather/gather.h"

namespace engine {

void gather_check_ref(int64_t count, const int64_t* indices, int64_t axis_dim, int64_t* bad) {
  bad[0] = -1;
  bad[1] = 0;
  for (int64_t k = 0; k < count; ++k)
    if (indices[k] < -axis_dim || indices[k] >= axis_dim) {
      bad[0] = k;
      bad[1] = indices[k];
      return;
    }
}

void gather_forward_ref(const GatherLayout& l, size_t elem_size, const void* data,
                        const int64_t* indices, void* y) {
  const size_t row = static_cast<size_t>(l.inner) * elem_size;
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t k = 0; k < l.count; ++k) {
      const int64_t i = indices[k] < 0 ? indices[k] + l.axis_dim : indices[k];
      std::memcpy(static_cast<char*>(y) + (o * l.count + k) * row,
                  static_cast<const char*>(data) + (o * l.axis_dim + i) * row, row);
    }
}

void gather_backward_ref(const GatherLayout& l, const float* dy, const int64_t* indices,
                         float* dx) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t k = 0; k < l.count; ++k) {
      const int64_t i = indices[k] < 0 ? indices[k] + l.axis_dim : indices[k];
      for (int64_t e = 0; e < l.inner; ++e)
        dx[(o * l.axis_dim + i) * l.inner + e] += dy[(o * l.count + k) * l.inner + e];
    }
}

}  // namespace engine
