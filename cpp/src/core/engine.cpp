#include <atomic>

#include "core/cpu_features.h"
#include "engine/communicator.h"
#include "engine/runtime.h"

namespace engine {

const char* version() { return "0.1.0"; }

Communicator::~Communicator() = default;

const CpuFeatures& cpu() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
#endif
    return f;
  }();
  return features;
}

namespace {
std::atomic<bool> g_force_portable{false};
std::atomic<KernelImpl> g_impl{KernelImpl::Optimized};
}  // namespace

void set_portable_kernels(bool on) { g_force_portable = on; }
bool use_avx2_fma() { return cpu().avx2_fma() && !g_force_portable.load(); }

const char* cpu_features() { return use_avx2_fma() ? "avx2 fma" : "portable"; }

void set_kernel_impl(KernelImpl impl) { g_impl = impl; }
KernelImpl get_kernel_impl() { return g_impl.load(); }

}  // namespace engine
