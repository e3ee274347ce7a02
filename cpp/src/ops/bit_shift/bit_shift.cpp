#include "ops/bit_shift/bit_shift.h"

#include "core/kernel_table.h"
#include "ops/binary/binary.h"
#include "ops/bit_shift/bit_shift_kernels.h"

namespace engine {

const KernelTable<BitShiftKernels>& bit_shift_kernels() {
  static const KernelTable<BitShiftKernels> table("BitShift", bit_shift_ref_kernels(),
                                                  bit_shift_cpu_kernels(),
                                                  bit_shift_kernels_for<GridLoop<HostGrid>>());
  return table;
}

void bit_shift_forward(bool left, const Tensor& x, const Tensor& y, Tensor& z) {
  ENGINE_CHECK(x.defined() && y.defined(), "BitShift: x and y are required");
  auto check = [](const Tensor& t, const char* what) {
    ENGINE_CHECK_TYPE(t.dtype() == DType::Int64, what, " must be int64, got ",
                      dtype_name(t.dtype()));
    check_contiguous(t, what);
  };
  check(x, "BitShift: x");
  check(y, "BitShift: y");
  check(z, "BitShift: z");
  const Shape shape = broadcast_shapes("BitShift", x.shape(), y.shape());
  ENGINE_CHECK(z.shape() == shape, "BitShift: z ", z.describe(),
               " does not match the expected shape ", shape_str(shape));
  const auto ax = broadcast_axes<2>("BitShift", shape, {x.shape(), y.shape()});
  bit_shift_kernels()
      .get(x.device())
      .shift(left, ax, shape_numel(shape), x.data<int64_t>(), y.data<int64_t>(), z.data<int64_t>());
}

}  // namespace engine
