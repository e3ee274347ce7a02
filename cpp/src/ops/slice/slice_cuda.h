// The CUDA kernels of the strided copy (Slice, Expand, Tile), over a Grid (core/grid.h):
// DeviceGrid in the CUDA plugin (slice_cuda.cu), HostGrid for its emulation in the kernel
// table. One thread per dense element (reads or writes of the dense side coalesced) finds
// its strided element from the simplified view; words of the element's size, index
// arithmetic in 32 bits when every index and offset fits.
#pragma once

#include <cstdint>

#include "core/grid.h"
#include "ops/slice/slice.h"

namespace engine {

constexpr int kStridedMaxAxes = 16;  // simplified axes the kernels handle

template <class I>
struct StridedAxes {
  int rank = 0;
  I size[kStridedMaxAxes] = {};
  I stride[kStridedMaxAxes] = {};
  I offset = 0;

  ENGINE_HD I locate(I j) const {
    I off = offset;
    for (int d = rank - 1; d >= 0; --d) {
      off += (j % size[d]) * stride[d];
      j /= size[d];
    }
    return off;
  }
};

template <class Grid, class W, class I, bool kScatter>
void strided_copy_as(const StridedView& v, int64_t n, const W* src, W* dst) {
  StridedAxes<I> ax;
  ax.rank = static_cast<int>(v.shape.size());
  ax.offset = static_cast<I>(v.offset);
  for (int d = 0; d < ax.rank; ++d) {
    ax.size[d] = static_cast<I>(v.shape[d]);
    ax.stride[d] = static_cast<I>(v.strides[d]);
  }
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t j) {
    const I off = ax.locate(static_cast<I>(j));
    if (kScatter)
      dst[off] = src[j];
    else
      dst[j] = src[off];
  });
}

template <class Grid, class W, bool kScatter>
void strided_copy_words(const StridedView& view, const void* src, void* dst) {
  const StridedView v = simplify_view(view);
  if (static_cast<int>(v.shape.size()) > kStridedMaxAxes)
    fail(ErrorKind::NotImplemented, "Slice: the CUDA kernels copy views of at most ",
         kStridedMaxAxes, " axes after merging, got ", v.shape.size());
  const int64_t n = shape_numel(v.shape);
  // The largest offset any element reaches bounds every partial sum of locate().
  int64_t reach = v.offset < 0 ? -v.offset : v.offset;
  for (size_t d = 0; d < v.shape.size(); ++d)
    reach += (v.shape[d] - 1) * (v.strides[d] < 0 ? -v.strides[d] : v.strides[d]);
  const W* s = static_cast<const W*>(src);
  W* t = static_cast<W*>(dst);
  if (n <= (int64_t(1) << 30) && reach <= (int64_t(1) << 30))
    strided_copy_as<Grid, W, int32_t, kScatter>(v, n, s, t);
  else
    strided_copy_as<Grid, W, int64_t, kScatter>(v, n, s, t);
}

template <class Grid, bool kScatter>
void strided_copy_grid(const StridedView& v, size_t elem_size, const void* src, void* dst) {
  switch (elem_size) {
    case 1: return strided_copy_words<Grid, uint8_t, kScatter>(v, src, dst);
    case 2: return strided_copy_words<Grid, uint16_t, kScatter>(v, src, dst);
    case 4: return strided_copy_words<Grid, uint32_t, kScatter>(v, src, dst);
    default: return strided_copy_words<Grid, uint64_t, kScatter>(v, src, dst);
  }
}

template <class Grid>
StridedKernels slice_cuda_kernels() {
  StridedKernels k;
  k.gather = &strided_copy_grid<Grid, false>;
  k.scatter = &strided_copy_grid<Grid, true>;
  return k;
}

}  // namespace engine
