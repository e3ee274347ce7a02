// Run-time CPU feature detection: ISA-specific kernels are chosen from this once.
#pragma once

namespace engine {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx2_fma() const { return avx2 && fma; }
};

const CpuFeatures& cpu();

// True when the AVX2/FMA kernels may run: the CPU has them and tests have not asked for
// the portable ones (engine::set_portable_kernels).
bool use_avx2_fma();

}  // namespace engine
