// The Where kernels, written once over a loop policy (broadcast_loop.h): SerialLoop for the
// reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "ops/where/where.h"

namespace engine {

template <class Loop, class T>
void where_select_as(const BroadcastAxes<3>& ax, int64_t n, const bool* cond, const T* x,
                     const T* y, T* out) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[3];
    ax.locate(i, off);
    out[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
  });
}

// The values are copied as they are: 4- or 8-byte words, whatever their type.
template <class Loop>
void where_select(const BroadcastAxes<3>& ax, int64_t n, size_t elem, const bool* cond,
                  const void* x, const void* y, void* out) {
  if (elem == 4)
    where_select_as<Loop>(ax, n, cond, static_cast<const uint32_t*>(x),
                          static_cast<const uint32_t*>(y), static_cast<uint32_t*>(out));
  else
    where_select_as<Loop>(ax, n, cond, static_cast<const uint64_t*>(x),
                          static_cast<const uint64_t*>(y), static_cast<uint64_t*>(out));
}

template <class Loop>
void where_split(const BroadcastAxes<1>& ax, int64_t n, const bool* cond, const float* g,
                 float* gx, float* gy) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[1];
    ax.locate(i, off);
    const bool c = cond[off[0]];
    if (gx) gx[i] = c ? g[i] : 0.0f;
    if (gy) gy[i] = c ? 0.0f : g[i];
  });
}

template <class Loop>
WhereKernels where_kernels_for() {
  WhereKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.select = &where_select<Loop>;
  kernels.split = &where_split<Loop>;
  return kernels;
}

}  // namespace engine
