// One kernel table per op: the op's kernels by variant. `ref` is the naive oracle kept
// forever, `cpu` the optimized CPU kernels (which pick their ISA themselves), `cuda` the
// device kernels of the CUDA plugin (looked up in it the first time they are asked for),
// and `cuda-emulated` the same CUDA kernel bodies run over their grid on the host
// (core/grid.h), so every machine tests the CUDA kernels' logic. An op's code asks the
// table for the kernels of its tensors' device and never branches on devices itself.
//
//   struct ConvKernels { void (*forward)(...); void (*backward)(...); };
//   const KernelTable<ConvKernels>& conv_kernels() {   // in the op folder
//     static const KernelTable<ConvKernels> table("Conv", {conv2d_forward_ref, ...},
//                                                 {conv2d_forward_cpu, ...},
//                                                 conv_grid_kernels<HostGrid>());
//     return table;
//   }
//   conv_kernels().get(x.device()).forward(...);
#pragma once

#include <array>
#include <atomic>
#include <optional>
#include <string>

#include "core/cuda_plugin.h"
#include "engine/device.h"
#include "engine/runtime.h"
#include "engine/status.h"

namespace engine {

enum class KernelVariant { Ref = 0, Cpu = 1, Cuda = 2, CudaEmulated = 3 };
constexpr int kKernelVariants = 4;

inline const char* kernel_variant_name(KernelVariant v) {
  switch (v) {
    case KernelVariant::Ref: return "ref";
    case KernelVariant::Cpu: return "cpu";
    case KernelVariant::Cuda: return "cuda";
    case KernelVariant::CudaEmulated: return "cuda-emulated";
  }
  return "?";
}

// The variant that runs on `device`: on CUDA the CUDA kernels; on the CPU the optimized
// kernels, or those that engine::set_kernel_impl chose (the reference ones, the emulated
// CUDA ones).
inline KernelVariant kernel_variant(Device device) {
  if (device.kind == DeviceKind::CUDA) return KernelVariant::Cuda;
  switch (get_kernel_impl()) {
    case KernelImpl::Reference: return KernelVariant::Ref;
    case KernelImpl::CudaEmulation: return KernelVariant::CudaEmulated;
    case KernelImpl::Optimized: break;
  }
  return KernelVariant::Cpu;
}

template <class Kernels>
class KernelTable {
 public:
  // Every op has its reference and CPU kernels, and (once its CUDA kernels exist) their
  // host emulation; the CUDA entry comes from the plugin.
  KernelTable(const char* op, const Kernels& ref, const Kernels& cpu) : op_(op) {
    set(KernelVariant::Ref, ref);
    set(KernelVariant::Cpu, cpu);
  }
  KernelTable(const char* op, const Kernels& ref, const Kernels& cpu, const Kernels& emulated)
      : KernelTable(op, ref, cpu) {
    set(KernelVariant::CudaEmulated, emulated);
  }

  KernelTable& set(KernelVariant variant, const Kernels& kernels) {
    entries_[static_cast<int>(variant)] = kernels;
    return *this;
  }
  bool has(KernelVariant variant) const { return entries_[static_cast<int>(variant)].has_value(); }

  // The kernels of `variant`; an error naming the op when the table has none.
  const Kernels& get(KernelVariant variant) const {
    if (variant == KernelVariant::Cuda && !entries_[static_cast<int>(variant)]) {
      // Asked of the plugin once, then kept: its kernels never change once it is loaded
      // (a CUDA tensor exists by the time anything asks), and this runs on every launch.
      const void* found = cuda_.load(std::memory_order_acquire);
      if (!found) {
        found = cuda_plugin_kernels(op_, sizeof(Kernels));
        cuda_.store(found, std::memory_order_release);
      }
      if (found) return *static_cast<const Kernels*>(found);
    }
    const auto& entry = entries_[static_cast<int>(variant)];
    if (!entry)
      fail(ErrorKind::NotImplemented, op_, ": no ", kernel_variant_name(variant),
           " kernels in this build");
    return *entry;
  }
  const Kernels& get(Device device) const { return get(kernel_variant(device)); }

 private:
  const char* op_;
  std::array<std::optional<Kernels>, kKernelVariants> entries_;
  mutable std::atomic<const void*> cuda_{nullptr};  // the plugin's kernels, once found
};

}  // namespace engine
