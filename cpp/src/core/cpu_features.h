// Run-time CPU feature detection: ISA-specific kernels are chosen from this once.
#pragma once

namespace engine {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx2_fma() const { return avx2 && fma; }
};

const CpuFeatures& cpu();

// Lets tests force the portable kernels on an AVX2 machine.
void force_portable_kernels(bool on);
bool use_avx2_fma();

}  // namespace engine
