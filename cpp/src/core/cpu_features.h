// Run-time CPU feature detection: ISA-specific kernels are chosen from this once.
#pragma once

namespace engine {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512 = false;  // F, DQ, BW and VL, with the OS saving the ZMM state
  bool avx2_fma() const { return avx2 && fma; }
};

const CpuFeatures& cpu();

// The instruction-set levels of the CPU kernels, each implying the ones below it.
enum class CpuIsa { Portable = 0, Avx2 = 1, Avx512 = 2 };

// The level the kernels use now: the best the CPU has, capped by engine::set_cpu_isa (tests
// run every level the machine supports).
CpuIsa cpu_isa();
// True when a test forced the level (set_cpu_isa with anything but "best").
bool cpu_isa_forced();
// True when the AVX2/FMA kernels may run (every kernel that has no AVX-512 variant).
inline bool use_avx2_fma() { return cpu_isa() >= CpuIsa::Avx2; }

// The one of a kernel table's three copies (AVX-512, AVX2/FMA, baseline) for cpu_isa().
template <class T>
const T& for_cpu_isa(const T& avx512, const T& avx2, const T& portable) {
  switch (cpu_isa()) {
    case CpuIsa::Avx512:
      return avx512;
    case CpuIsa::Avx2:
      return avx2;
    default:
      return portable;
  }
}

}  // namespace engine
