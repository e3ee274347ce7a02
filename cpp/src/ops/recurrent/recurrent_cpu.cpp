// CPU kernels: the passes of recurrent_cpu_loops.h, for AVX-512 or AVX2/FMA where the CPU
// has it (recurrent_cpu_avx512.cpp, recurrent_cpu_avx2.cpp) and for the baseline ISA
// otherwise.
#include "core/cpu_features.h"
#include "ops/recurrent/recurrent_cpu_loops.h"

namespace engine {

void recurrent_forward_cpu_avx2(const RecurrentGeometry& g, const RecurrentData& d);
void recurrent_backward_cpu_avx2(const RecurrentGeometry& g, const RecurrentData& d,
                                 const RecurrentGrads& gr);
void recurrent_forward_cpu_avx512(const RecurrentGeometry& g, const RecurrentData& d);
void recurrent_backward_cpu_avx512(const RecurrentGeometry& g, const RecurrentData& d,
                                   const RecurrentGrads& gr);

void recurrent_forward_cpu(const RecurrentGeometry& g, const RecurrentData& d) {
  (cpu_isa() == CpuIsa::Avx512 ? recurrent_forward_cpu_avx512
   : use_avx2_fma()            ? recurrent_forward_cpu_avx2
                               : recurrent_forward_loops)(g, d);
}

void recurrent_backward_cpu(const RecurrentGeometry& g, const RecurrentData& d,
                            const RecurrentGrads& gr) {
  (cpu_isa() == CpuIsa::Avx512 ? recurrent_backward_cpu_avx512
   : use_avx2_fma()            ? recurrent_backward_cpu_avx2
                               : recurrent_backward_loops)(g, d, gr);
}

}  // namespace engine
