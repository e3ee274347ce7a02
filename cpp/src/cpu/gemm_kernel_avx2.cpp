// AVX2/FMA kernels: the 6x16 micro-kernel (12 ymm accumulators) and its packing. Compiled
// with -mavx2 -mfma; selected only after the CPUID check.
#include "cpu/gemm_kernel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include "cpu/gemm_kernel_x86.h"
#include "cpu/gemm_small.h"

namespace engine {
namespace gemm_detail {
namespace {

struct Ymm {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_load_ps(p); }
  static T loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_store_ps(p, x); }
  static void storeu(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
};

void small_rows(const GemmArgs& g) { gemm_small_rows_impl(g); }
// 2 x 4 tiles of 8-float accumulators: 8 of the 16 ymm registers, 6 for the operands.
void small_cols(const GemmArgs& g, const float* bt, int64_t ldbt, int64_t i0, int64_t i1) {
  gemm_small_cols_impl<8, 2, 4>(g, bt, ldbt, i0, i1);
}

}  // namespace

const GemmIsa kGemmAvx2 = {2 * Ymm::W,
                           micro_kernel_x86<Ymm>,
                           pack_a_panel_x86,
                           pack_b_trans_panel_x86<2 * Ymm::W>,
                           small_rows,
                           small_cols,
                           micro_kernel_rows_a_x86<Ymm>};

}  // namespace gemm_detail
}  // namespace engine

#else  // built without AVX2 flags (not x86): CPUID never selects it

namespace engine {
namespace gemm_detail {
const GemmIsa kGemmAvx2 = {};
}  // namespace gemm_detail
}  // namespace engine

#endif
