// CPU forward: the outputs split over threads (each reads its source through PadGeometry).
#include "engine/threads.h"
#include "ops/pad/pad.h"

namespace engine {

void pad_forward_cpu(const PadGeometry& g, const float* x, float value, float* y) {
  parallel_for(g.out_numel, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const int64_t s = g.source(o);
      y[o] = s < 0 ? value : x[s];
    }
  });
}

}  // namespace engine
