// CPU kernels of the strided copy: the simplified view's innermost axis is a run, copied
// with memcpy when it is contiguous, as one repeated element when its stride is 0 (Expand),
// element by element otherwise; threads over the runs.
#include <algorithm>
#include <cstring>

#include "engine/threads.h"
#include "ops/slice/slice.h"

namespace engine {

namespace {

template <class W, bool kScatter>
void copy_runs(const StridedView& v, const W* src, W* dst) {
  const int r = static_cast<int>(v.shape.size());
  if (r == 0) {  // one element
    if (kScatter) dst[v.offset] = src[0]; else dst[0] = src[v.offset];
    return;
  }
  const int64_t run = v.shape[r - 1], stride = v.strides[r - 1];
  const int64_t runs = shape_numel(v.shape) / run;
  parallel_for(runs, std::max<int64_t>(1, (int64_t(1) << 14) / run), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t off = v.offset;
      for (int64_t d = r - 2, rest = o; d >= 0; --d) {
        off += (rest % v.shape[d]) * v.strides[d];
        rest /= v.shape[d];
      }
      const int64_t j = o * run;
      if (kScatter) {
        if (stride == 1) {
          std::memcpy(dst + off, src + j, run * sizeof(W));
        } else {
          for (int64_t i = 0; i < run; ++i) dst[off + i * stride] = src[j + i];
        }
      } else if (stride == 1) {
        std::memcpy(dst + j, src + off, run * sizeof(W));
      } else if (stride == 0) {
        std::fill(dst + j, dst + j + run, src[off]);
      } else {
        for (int64_t i = 0; i < run; ++i) dst[j + i] = src[off + i * stride];
      }
    }
  });
}

template <bool kScatter>
void copy_cpu(const StridedView& view, size_t elem_size, const void* src, void* dst) {
  const StridedView v = simplify_view(view);
  switch (elem_size) {
    case 1: return copy_runs<uint8_t, kScatter>(v, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2: return copy_runs<uint16_t, kScatter>(v, static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4: return copy_runs<uint32_t, kScatter>(v, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    default: return copy_runs<uint64_t, kScatter>(v, static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
  }
}

}  // namespace

void strided_gather_cpu(const StridedView& v, size_t elem_size, const void* strided, void* dense) {
  copy_cpu<false>(v, elem_size, strided, dense);
}

void strided_scatter_cpu(const StridedView& v, size_t elem_size, const void* dense, void* strided) {
  copy_cpu<true>(v, elem_size, dense, strided);
}

}  // namespace engine
