// CPU forward: the outputs split over threads (each reads its taps through ResizeGeometry).
#include "engine/threads.h"
#include "ops/resize/resize.h"

namespace engine {

void resize_forward_cpu(const ResizeGeometry& g, const float* x, float* y) {
  parallel_for(g.out_numel, 1 << 12, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) y[o] = g.value(o, x);
  });
}

}  // namespace engine
