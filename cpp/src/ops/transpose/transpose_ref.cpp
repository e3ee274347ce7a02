// Reference kernel: every output element found from its multi-index.
#include <cstring>

#include "ops/transpose/transpose.h"

namespace engine {

void transpose_ref(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                   const void* x, void* y) {
  const int r = static_cast<int>(in.size());
  const Shape in_strides = contiguous_strides(in);
  Shape out(r);
  for (int k = 0; k < r; ++k) out[k] = in[perm[k]];
  const int64_t n = shape_numel(out);
  for (int64_t j = 0; j < n; ++j) {
    int64_t rest = j, src = 0;
    for (int k = r - 1; k >= 0; --k) {
      src += (rest % out[k]) * in_strides[perm[k]];
      rest /= out[k];
    }
    std::memcpy(static_cast<char*>(y) + j * elem_size,
                static_cast<const char*>(x) + src * elem_size, elem_size);
  }
}

}  // namespace engine
