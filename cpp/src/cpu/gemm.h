// The CPU GEMM every dense and convolution kernel stands on.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (+ epilogue)
//
// Row-major with leading dimensions in elements; op(X) = X or X^T. When beta == 0, C is
// never read (it may hold NaN). gemm_cpu is the packed, cache-blocked, threaded kernel
// (AVX-512 or AVX2/FMA micro-kernel picked by CPUID, portable fallback; unpacked paths for
// few rows or few columns); gemm_ref is the naive
// oracle, kept forever. The ops that call a GEMM pick one from their kernel table.
#pragma once

#include <cstdint>

#include "core/gemm_args.h"
#include "cpu/workspace.h"

namespace engine {

void gemm_cpu(const GemmArgs& args);
void gemm_ref(const GemmArgs& args);

namespace gemm_detail {
struct GemmIsa;
struct PackedAccess;
}  // namespace gemm_detail

// True when gemm_cpu(args) packs its operands (the blocked product), that is, when a
// GemmPacked copy of one of them saves work; false for the paths that read them in place
// (few rows, few columns, nothing to multiply).
bool gemm_cpu_packs(const GemmArgs& args);

// op(A) or op(B) packed once for several products that share it (a recurrent weight used
// at every time step, a convolution's weights used by every chunk of images). pack() reads
// the operand, its leading dimension and transpose, K and M (for A) or N (for B) of
// `args`; gemm_cpu_packed(args, packed) then computes exactly what gemm_cpu(args) does
// (same blocks, same order of sums) for any args with that operand, without packing it
// again. The packed copy does not follow the operand's later changes, and is read-only
// there: threads may share it. It is packed for the current CPU kernels (set_cpu_isa).
enum class GemmOperand { A, B };
//
// The packed copy may also live in memory its caller keeps (across calls, while the operand
// itself is gone): packed_floats(args) floats, 64-byte aligned (the kernels load panels with
// aligned loads), filled by pack_into(args, storage), and read
// through a GemmPacked attach()ed to them for the same args and CPU kernels. A product
// through an attached copy always takes the blocked path (it cannot read the operand), so
// for shapes that gemm_cpu computes unpacked its sums may be ordered differently.
template <GemmOperand Which>
class GemmPacked {
 public:
  void pack(const GemmArgs& args);
  static int64_t packed_floats(const GemmArgs& args);
  static void pack_into(const GemmArgs& args, float* storage);
  void attach(const GemmArgs& args, const float* storage);

 private:
  friend struct gemm_detail::PackedAccess;
  Workspace panels_;
  const float* data_ = nullptr;
  const float* source_ = nullptr;
  int64_t K_ = 0, MN_ = 0;  // K, and M (A) or N (B)
  bool trans_ = false;
  const gemm_detail::GemmIsa* isa_ = nullptr;
};
using GemmPackedA = GemmPacked<GemmOperand::A>;
using GemmPackedB = GemmPacked<GemmOperand::B>;
void gemm_cpu_packed(const GemmArgs& args, const GemmPackedA& a);
void gemm_cpu_packed(const GemmArgs& args, const GemmPackedB& b);

}  // namespace engine
