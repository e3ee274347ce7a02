// Portable micro-kernel: the same 6x16 tile and packed layout as the AVX2 kernel, in plain
// C++ (the compiler vectorises the inner j loop for whatever baseline ISA it targets).
#include "cpu/gemm_kernel.h"
#include "cpu/gemm_small.h"

namespace engine {
namespace gemm_detail {

void gemm_small_rows_portable(const GemmArgs& g) { gemm_small_rows_impl(g); }

void micro_kernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                           int mr, int nr, const TileStore& s) {
  alignas(64) float acc[MR * NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[r];
      for (int j = 0; j < NR; ++j) acc[r * NR + j] += av * b[j];
    }
    a += MR;
    b += NR;
  }
  store_tile_scalar(acc, mr, nr, c, ldc, s);
}

}  // namespace gemm_detail
}  // namespace engine
