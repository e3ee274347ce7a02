// The CUDA kernels of Gather, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (gather_cuda.cu), HostGrid for its emulation in the kernel table.
//   check: one block scans the indices (thread t takes t, t + threads, ...) and keeps the
//     first bad position by a tree of minima;
//   forward: one thread per element of y, moving a word of the element's size;
//   backward: one thread per element of dy, adding it atomically into dx (repeated indices
//     meet in one row).
#pragma once

#include <cstdint>

#include "core/grid.h"
#include "ops/gather/gather.h"

namespace engine {

struct GatherCheckBody {
  static constexpr int kThreads = 256;
  struct Shared {
    int64_t bad[kThreads];  // the first bad position a thread saw, count when none
  };
  struct Local {};
  int64_t count;
  const int64_t* indices;
  int64_t axis_dim;
  int64_t* out;

  template <class Each>
  ENGINE_HD void run_block(int64_t, int threads, Shared& sh, Each&& each) const {
    each([&](int t, Local&) {
      int64_t bad = count;
      for (int64_t k = t; k < count && bad == count; k += threads)
        if (indices[k] < -axis_dim || indices[k] >= axis_dim) bad = k;
      sh.bad[t] = bad;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) {
      if (sh.bad[b] < sh.bad[a]) sh.bad[a] = sh.bad[b];
    });
    each([&](int t, Local&) {
      if (t != 0) return;
      const bool found = sh.bad[0] < count;
      out[0] = found ? sh.bad[0] : -1;
      out[1] = found ? indices[sh.bad[0]] : 0;
    });
  }
};

template <class Grid>
void gather_check_grid(int64_t count, const int64_t* indices, int64_t axis_dim, int64_t* bad) {
  Grid::launch_blocks(GridDims{1, GatherCheckBody::kThreads},
                      GatherCheckBody{count, indices, axis_dim, bad});
}

// (o, k, e) of element j of y = [outer, count, inner]: the offset of its source in data.
template <class I>
ENGINE_HD inline I gather_source(I j, I count, I inner, I axis_dim, const int64_t* indices) {
  const I e = j % inner, t = j / inner;
  const I k = t % count, o = t / count;
  I i = static_cast<I>(indices[k]);
  if (i < 0) i += axis_dim;
  return (o * axis_dim + i) * inner + e;
}

template <class Grid, class W, class I>
void gather_forward_as(const GatherLayout& l, const W* data, const int64_t* indices, W* y) {
  const I count = static_cast<I>(l.count), inner = static_cast<I>(l.inner),
          axis_dim = static_cast<I>(l.axis_dim);
  for_each_index<Grid>(l.outer * l.count * l.inner, [=] ENGINE_HD(int64_t j) {
    y[j] = data[gather_source<I>(static_cast<I>(j), count, inner, axis_dim, indices)];
  });
}

// 32-bit index arithmetic when every offset of data and y fits.
inline bool gather_fits_32(const GatherLayout& l) {
  const int64_t limit = int64_t(1) << 30;
  return l.outer * l.count * l.inner <= limit && l.outer * l.axis_dim * l.inner <= limit;
}

template <class Grid, class W>
void gather_forward_words(const GatherLayout& l, const void* data, const int64_t* indices,
                          void* y) {
  const W* d = static_cast<const W*>(data);
  W* out = static_cast<W*>(y);
  if (gather_fits_32(l))
    gather_forward_as<Grid, W, int32_t>(l, d, indices, out);
  else
    gather_forward_as<Grid, W, int64_t>(l, d, indices, out);
}

template <class Grid>
void gather_forward_grid(const GatherLayout& l, size_t elem_size, const void* data,
                         const int64_t* indices, void* y) {
  switch (elem_size) {
    case 1: return gather_forward_words<Grid, uint8_t>(l, data, indices, y);
    case 2: return gather_forward_words<Grid, uint16_t>(l, data, indices, y);
    case 4: return gather_forward_words<Grid, uint32_t>(l, data, indices, y);
    default: return gather_forward_words<Grid, uint64_t>(l, data, indices, y);
  }
}

template <class Grid, class I>
void gather_backward_as(const GatherLayout& l, const float* dy, const int64_t* indices,
                        float* dx) {
  const I count = static_cast<I>(l.count), inner = static_cast<I>(l.inner),
          axis_dim = static_cast<I>(l.axis_dim);
  for_each_index<Grid>(l.outer * l.count * l.inner, [=] ENGINE_HD(int64_t j) {
    atomic_add(dx + gather_source<I>(static_cast<I>(j), count, inner, axis_dim, indices), dy[j]);
  });
}

template <class Grid>
void gather_backward_grid(const GatherLayout& l, const float* dy, const int64_t* indices,
                          float* dx) {
  if (gather_fits_32(l))
    gather_backward_as<Grid, int32_t>(l, dy, indices, dx);
  else
    gather_backward_as<Grid, int64_t>(l, dy, indices, dx);
}

template <class Grid>
GatherKernels gather_cuda_kernels() {
  return {gather_check_grid<Grid>, gather_forward_grid<Grid>, gather_backward_grid<Grid>};
}

}  // namespace engine
