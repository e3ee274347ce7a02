#include "ops/trilu/trilu.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/trilu/trilu_kernels.h"

namespace engine {

const KernelTable<TriluKernels>& trilu_kernels() {
  static const KernelTable<TriluKernels> table("Trilu", trilu_ref_kernels(), trilu_cpu_kernels(),
                                               trilu_kernels_for<GridLoop<HostGrid>>());
  return table;
}

void trilu_apply(const Tensor& in, const TriluAttrs& attrs, Tensor& out, const char* op) {
  check_dense_float(in, (std::string(op) + ": input").c_str());
  ENGINE_CHECK(in.ndim() >= 2, op, ": x must have rank >= 2, got ", in.describe());
  check_shape(out, in.shape(), std::string(op) + ": output");
  if (in.numel() == 0) return;
  trilu_kernels()
      .get(in.device())
      .apply(in.numel(), in.dim(in.ndim() - 2), in.dim(in.ndim() - 1), attrs.upper, attrs.k,
             in.data<float>(), out.data<float>());
}

}  // namespace engine
