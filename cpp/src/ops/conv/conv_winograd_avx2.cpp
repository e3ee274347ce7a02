// The Winograd transforms compiled for AVX2/FMA; conv_winograd.cpp calls them after the
// CPUID check.
#include "ops/conv/conv_winograd_loops.h"

namespace engine {

void winograd_input_range_avx2(int m, const WinogradTiles& g, const float* x, float* v, int64_t c0,
                               int64_t c1) {
  (m == 2 ? winograd_input_range<2> : winograd_input_range<4>)(g, x, v, c0, c1);
}

void winograd_output_range_avx2(int m, const WinogradTiles& g, const float* mt, const float* b,
                                float* y, int64_t o0, int64_t o1) {
  (m == 2 ? winograd_output_range<2> : winograd_output_range<4>)(g, mt, b, y, o0, o1);
}

void winograd_weight_range_avx2(int m, int64_t OC, int64_t C, const float* w, bool turn, float* u,
                                int64_t r0, int64_t r1) {
  (m == 2 ? winograd_weight_range<2> : winograd_weight_range<4>)(OC, C, w, turn, u, r0, r1);
}

}  // namespace engine
