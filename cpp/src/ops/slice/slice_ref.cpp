// Reference kernels: every element of the view found from its multi-index, byte copies.
#include <cstring>

#include "ops/slice/slice.h"

namespace engine {

namespace {
int64_t strided_offset(const StridedView& v, int64_t j) {
  int64_t off = v.offset;
  for (int64_t d = static_cast<int64_t>(v.shape.size()) - 1; d >= 0; --d) {
    off += (j % v.shape[d]) * v.strides[d];
    j /= v.shape[d];
  }
  return off;
}
}  // namespace

void strided_gather_ref(const StridedView& v, size_t elem_size, const void* strided, void* dense) {
  const int64_t n = shape_numel(v.shape);
  for (int64_t j = 0; j < n; ++j)
    std::memcpy(static_cast<char*>(dense) + j * elem_size,
                static_cast<const char*>(strided) + strided_offset(v, j) * elem_size, elem_size);
}

void strided_scatter_ref(const StridedView& v, size_t elem_size, const void* dense, void* strided) {
  const int64_t n = shape_numel(v.shape);
  for (int64_t j = 0; j < n; ++j)
    std::memcpy(static_cast<char*>(strided) + strided_offset(v, j) * elem_size,
                static_cast<const char*>(dense) + j * elem_size, elem_size);
}

}  // namespace engine
