// The CPU passes compiled for AVX-512 (16 floats a vector, 32 registers); recurrent_cpu.cpp
// calls them after the CPUID check.
#include "ops/recurrent/recurrent_cpu_loops.h"

namespace engine {

void recurrent_forward_cpu_avx512(const RecurrentGeometry& g, const RecurrentData& d) {
  recurrent_forward_loops(g, d);
}

void recurrent_backward_cpu_avx512(const RecurrentGeometry& g, const RecurrentData& d,
                                   const RecurrentGrads& gr) {
  recurrent_backward_loops(g, d, gr);
}

}  // namespace engine
