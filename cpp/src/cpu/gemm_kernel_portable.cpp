// Portable kernels: a 6x16 tile in plain C++ (the compiler vectorises the inner j loop for
// whatever baseline ISA it targets), scalar packing.
#include "cpu/gemm_kernel.h"
#include "cpu/gemm_small.h"

namespace engine {
namespace gemm_detail {
namespace {

constexpr int NR = 16;

void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr,
                  const TileStore& s) {
  alignas(64) float acc[MR * NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[r];
      for (int j = 0; j < NR; ++j) acc[r * NR + j] += av * b[j];
    }
    a += MR;
    b += NR;
  }
  store_tile_scalar(acc, NR, mr, nr, c, ldc, s);
}

void small_rows(const GemmArgs& g) { gemm_small_rows_impl(g); }
// 4-float vectors: SSE2 is the x86-64 baseline; 8 accumulators of the 16 xmm registers.
void small_cols(const GemmArgs& g, const float* bt, int64_t ldbt, int64_t i0, int64_t i1) {
  gemm_small_cols_impl<4, 2, 4>(g, bt, ldbt, i0, i1);
}

}  // namespace

const GemmIsa kGemmPortable = {NR, micro_kernel, nullptr, nullptr, small_rows, small_cols, nullptr};

}  // namespace gemm_detail
}  // namespace engine
