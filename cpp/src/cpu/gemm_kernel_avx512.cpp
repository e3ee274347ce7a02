// AVX-512 kernels: the 6x32 micro-kernel (12 zmm accumulators: half the broadcasts and loop
// overhead per FMA of the AVX2 tile) and its packing. Compiled with -mavx512f -mavx512dq
// -mavx512vl -mavx512bw -mfma; selected only after the CPUID and XGETBV checks.
#include "cpu/gemm_kernel.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include "cpu/gemm_kernel_x86.h"
#include "cpu/gemm_small.h"

namespace engine {
namespace gemm_detail {
namespace {

struct Zmm {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_load_ps(p); }
  static T loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_store_ps(p, x); }
  static void storeu(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  // (The masked form: GCC 12 warns that _mm512_max_ps reads an undefined vector.)
  static T max(T a, T b) { return _mm512_maskz_max_ps(0xffff, a, b); }
};

void small_rows(const GemmArgs& g) { gemm_small_rows_impl(g); }
// 4 x 4 tiles of 16-float accumulators: 16 of the 32 zmm registers, 8 for the operands.
void small_cols(const GemmArgs& g, const float* bt, int64_t ldbt, int64_t i0, int64_t i1) {
  gemm_small_cols_impl<16, 4, 4>(g, bt, ldbt, i0, i1);
}

}  // namespace

const GemmIsa kGemmAvx512 = {2 * Zmm::W,
                             micro_kernel_x86<Zmm>,
                             pack_a_panel_x86,
                             pack_b_trans_panel_x86<2 * Zmm::W>,
                             small_rows,
                             small_cols,
                             micro_kernel_rows_a_x86<Zmm>};

}  // namespace gemm_detail
}  // namespace engine

#else  // built without AVX-512 flags (not x86): CPUID never selects it

namespace engine {
namespace gemm_detail {
const GemmIsa kGemmAvx512 = {};
}  // namespace gemm_detail
}  // namespace engine

#endif
