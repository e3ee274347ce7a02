#include "ops/cast/cast.h"

#include "core/kernel_table.h"
#include "ops/cast/cast_kernels.h"

namespace engine {

const KernelTable<CastKernels>& cast_kernels() {
  static const KernelTable<CastKernels> table("Cast", cast_ref_kernels(), cast_cpu_kernels(),
                                              cast_kernels_for<GridLoop<HostGrid>>());
  return table;
}

DType cast_target(const char* op, int64_t to) {
  switch (to) {
    case 1: return DType::Float32;
    case 7: return DType::Int64;
    case 9: return DType::Bool;
    default: break;
  }
  fail(ErrorKind::Value, op, ": to = ", to,
       " is not a type the engine holds (1 float32, 7 int64 or 9 bool)");
}

void cast_forward(const Tensor& x, Tensor& y) {
  ENGINE_CHECK(x.defined(), "Cast: x is required");
  check_contiguous(x, "Cast: x");
  check_contiguous(y, "Cast: y");
  ENGINE_CHECK(y.shape() == x.shape(), "Cast: y ", y.describe(), " does not match x ",
               x.describe());
  cast_kernels().get(x.device()).convert(x.dtype(), y.dtype(), x.numel(), x.raw_data(),
                                         y.raw_data());
}

}  // namespace engine
