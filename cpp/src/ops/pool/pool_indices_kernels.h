// MaxPool's Indices output, written once over a loop policy (broadcast_loop.h): SerialLoop
// for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA. Each output scans
// its window in the order the backward does, so an index names the element the gradient
// goes to.
#pragma once

#include "core/hd.h"
#include "ops/broadcast_loop.h"
#include "ops/pool/pool.h"

namespace engine {

template <class Loop>
void max_pool_indices(const Window2d& g, bool column_major, int64_t planes, const float* x,
                      int64_t* indices) {
  const int64_t per = g.OH * g.OW;
  Loop::run(planes * per, [=] ENGINE_HD(int64_t i) {
    const int64_t p = i / per, oh = i % per / g.OW, ow = i % g.OW;
    const float* plane = x + p * g.H * g.W;
    float best = 0.0f;
    int64_t arg = -1;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t h = oh * g.SH - g.PT + kh * g.DH;
      if (h < 0 || h >= g.H) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t w = ow * g.SW - g.PL + kw * g.DW;
        if (w < 0 || w >= g.W) continue;
        const float v = plane[h * g.W + w];
        if (arg < 0 || replaces_max(v, best)) {
          best = v;
          arg = column_major ? w * g.H + h : h * g.W + w;
        }
      }
    }
    indices[i] = arg < 0 ? -1 : p * g.H * g.W + arg;
  });
}

template <class Loop>
MaxPoolIndicesKernels max_pool_indices_kernels_for() {
  MaxPoolIndicesKernels kernels;  // member by member: nvcc cannot resolve the templates in a list
  kernels.indices = &max_pool_indices<Loop>;
  return kernels;
}

}  // namespace engine
