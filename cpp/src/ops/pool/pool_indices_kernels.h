// MaxPool's Indices output, written once over a loop policy (broadcast_loop.h): SerialLoop
// for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA. Each output scans
// its window in the order the backward does, so an index names the element the gradient
// goes to.
#pragma once

#include "core/hd.h"
#include "ops/broadcast_loop.h"
#include "ops/pool/pool.h"

namespace engine {

// A 2-D window has depth 1 (core/window2d.h), so one loop serves both ranks. Column-major
// (storage_order=1) numbers the first spatial axis fastest, as onnxruntime does.
template <class Loop>
void max_pool_indices(const Window2d& g, bool column_major, int64_t planes, const float* x,
                      int64_t* indices) {
  const int64_t per = g.OD * g.OH * g.OW, plane_size = g.D * g.H * g.W;
  Loop::run(planes * per, [=] ENGINE_HD(int64_t i) {
    const int64_t p = i / per, od = i % per / (g.OH * g.OW), oh = i % (g.OH * g.OW) / g.OW,
                  ow = i % g.OW;
    const float* plane = x + p * plane_size;
    float best = 0.0f;
    int64_t arg = -1;
    for (int64_t kd = 0; kd < g.KD; ++kd) {
      const int64_t d = od * g.SD - g.PF + kd * g.DD;
      if (d < 0 || d >= g.D) continue;
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const int64_t h = oh * g.SH - g.PT + kh * g.DH;
        if (h < 0 || h >= g.H) continue;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const int64_t w = ow * g.SW - g.PL + kw * g.DW;
          if (w < 0 || w >= g.W) continue;
          const float v = plane[(d * g.H + h) * g.W + w];
          if (arg < 0 || replaces_max(v, best)) {
            best = v;
            arg = column_major ? (w * g.H + h) * g.D + d : (d * g.H + h) * g.W + w;
          }
        }
      }
    }
    indices[i] = arg < 0 ? -1 : p * plane_size + arg;
  });
}

template <class Loop>
MaxPoolIndicesKernels max_pool_indices_kernels_for() {
  MaxPoolIndicesKernels kernels;  // member by member: nvcc cannot resolve the templates in a list
  kernels.indices = &max_pool_indices<Loop>;
  return kernels;
}

}  // namespace engine
