// One kernel table per op: the op's kernels by variant. `ref` is the naive oracle kept
// forever, `cpu` the optimized CPU kernels (which pick their ISA themselves), `cuda` the
// device kernels once a CUDA backend fills them in. An op's code asks the table for the
// kernels of its tensors' device and never branches on devices or variants itself.
//
//   struct ConvKernels { void (*forward)(...); void (*backward)(...); };
//   const KernelTable<ConvKernels>& conv_kernels() {   // in the op folder
//     static const KernelTable<ConvKernels> table("Conv", {conv2d_forward_ref, ...},
//                                                 {conv2d_forward_cpu, ...});
//     return table;
//   }
//   conv_kernels().get(x.device()).forward(...);
#pragma once

#include <array>
#include <optional>
#include <string>

#include "engine/device.h"
#include "engine/runtime.h"
#include "engine/status.h"

namespace engine {

enum class KernelVariant { Ref = 0, Cpu = 1, Cuda = 2 };
constexpr int kKernelVariants = 3;

inline const char* kernel_variant_name(KernelVariant v) {
  switch (v) {
    case KernelVariant::Ref: return "ref";
    case KernelVariant::Cpu: return "cpu";
    case KernelVariant::Cuda: return "cuda";
  }
  return "?";
}

// The variant that runs on `device`: on the CPU the optimized kernels, or the reference
// ones while engine::set_kernel_impl(KernelImpl::Reference) is on; on CUDA the CUDA ones.
inline KernelVariant kernel_variant(Device device) {
  if (device.kind == DeviceKind::CUDA) return KernelVariant::Cuda;
  return get_kernel_impl() == KernelImpl::Reference ? KernelVariant::Ref : KernelVariant::Cpu;
}

template <class Kernels>
class KernelTable {
 public:
  // Every op has its reference and CPU kernels; a device backend adds its own with set().
  KernelTable(const char* op, const Kernels& ref, const Kernels& cpu) : op_(op) {
    set(KernelVariant::Ref, ref);
    set(KernelVariant::Cpu, cpu);
  }

  KernelTable& set(KernelVariant variant, const Kernels& kernels) {
    entries_[static_cast<int>(variant)] = kernels;
    return *this;
  }
  bool has(KernelVariant variant) const { return entries_[static_cast<int>(variant)].has_value(); }

  // The kernels of `variant`; an error naming the op when the table has none.
  const Kernels& get(KernelVariant variant) const {
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
};

}  // namespace engine
