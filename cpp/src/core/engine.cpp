#include <atomic>
#include <cstring>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define ENGINE_X86_CPUID 1
#endif

#include "core/cpu_features.h"
#include "engine/communicator.h"
#include "engine/runtime.h"
#include "engine/status.h"

namespace engine {

const char* version() { return "0.1.0"; }

Communicator::~Communicator() = default;

const CpuFeatures& cpu() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#ifdef ENGINE_X86_CPUID
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool fma = c & bit_FMA, osxsave = c & bit_OSXSAVE, avx = c & bit_AVX;
    if (!osxsave || !avx) return f;
    // XCR0: which register states the OS saves on a context switch. YMM needs SSE and AVX
    // state (bits 1, 2); ZMM also the opmask and both ZMM halves (bits 5, 6, 7).
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    const bool os_ymm = (xcr0_lo & 0x6) == 0x6, os_zmm = (xcr0_lo & 0xe6) == 0xe6;
    if (!os_ymm || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    f.fma = fma;
    f.avx2 = b & bit_AVX2;
    f.avx512 = os_zmm && (b & bit_AVX512F) && (b & bit_AVX512DQ) && (b & bit_AVX512BW) &&
               (b & bit_AVX512VL) && f.avx2_fma();
#endif
    return f;
  }();
  return features;
}

namespace {

CpuIsa best_isa() {
  if (cpu().avx512) return CpuIsa::Avx512;
  return cpu().avx2_fma() ? CpuIsa::Avx2 : CpuIsa::Portable;
}

// The level set by set_cpu_isa, or -1 for the best (constant-initialized: kernels may run
// during other files' static initialization).
std::atomic<int> g_isa{-1};
std::atomic<KernelImpl> g_impl{KernelImpl::Optimized};
std::atomic<uint64_t> g_parameters_version{1};  // 0 never: a zeroed tag is stale
std::atomic<uint64_t> g_prepared_weights{0};

constexpr const char* kIsaNames[] = {"portable", "avx2", "avx512"};

}  // namespace

CpuIsa cpu_isa() {
  const int isa = g_isa.load(std::memory_order_relaxed);
  return isa < 0 ? best_isa() : static_cast<CpuIsa>(isa);
}

bool cpu_isa_forced() { return g_isa.load(std::memory_order_relaxed) >= 0; }

bool cpu_isa_supported(const char* name) {
  for (int i = 0; i <= static_cast<int>(best_isa()); ++i)
    if (std::strcmp(name, kIsaNames[i]) == 0) return true;
  return false;
}

void set_cpu_isa(const char* name) {
  for (int i = 0; i < 3; ++i) {
    if (std::strcmp(name, kIsaNames[i]) != 0) continue;
    ENGINE_CHECK(i <= static_cast<int>(best_isa()), "set_cpu_isa: this CPU lacks ", name,
                 " (it has up to ", kIsaNames[static_cast<int>(best_isa())], ")");
    g_isa = i;
    return;
  }
  ENGINE_CHECK(std::strcmp(name, "best") == 0, "set_cpu_isa: unknown level '", name,
               "' (expected portable, avx2, avx512 or best)");
  g_isa = -1;
}

void set_portable_kernels(bool on) { set_cpu_isa(on ? "portable" : "best"); }

const char* cpu_features() {
  switch (cpu_isa()) {
    case CpuIsa::Avx512:
      return "avx512 avx2 fma";
    case CpuIsa::Avx2:
      return "avx2 fma";
    default:
      return "portable";
  }
}

void set_kernel_impl(KernelImpl impl) { g_impl = impl; }
KernelImpl get_kernel_impl() { return g_impl.load(); }

uint64_t parameters_version() { return g_parameters_version.load(std::memory_order_acquire); }
void parameters_changed() { g_parameters_version.fetch_add(1, std::memory_order_acq_rel); }
uint64_t prepared_weights_count() { return g_prepared_weights.load(); }
void count_prepared_weights() { g_prepared_weights.fetch_add(1); }

}  // namespace engine
