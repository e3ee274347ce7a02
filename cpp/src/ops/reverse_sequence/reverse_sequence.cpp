#include "ops/reverse_sequence/reverse_sequence.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/reverse_sequence/reverse_sequence_kernels.h"

namespace engine {

const KernelTable<ReverseSequenceKernels>& reverse_sequence_kernels() {
  static const KernelTable<ReverseSequenceKernels> table(
      "ReverseSequence", reverse_sequence_ref_kernels(), reverse_sequence_cpu_kernels(),
      reverse_sequence_kernels_for<GridLoop<HostGrid>>());
  return table;
}

void reverse_sequence(const Tensor& x, const Tensor& lens, const ReverseSequenceAttrs& attrs,
                      Tensor& y, const char* op) {
  ENGINE_CHECK(x.defined() && lens.defined() && y.defined(), op, ": an operand is missing");
  check_contiguous(x, str(op, ": x").c_str());
  check_contiguous(y, str(op, ": y").c_str());
  check_contiguous(lens, str(op, ": sequence_lens").c_str());
  ENGINE_CHECK_TYPE(x.dtype() == DType::Float32 || x.dtype() == DType::Int64, op,
                    ": x must be float32 or int64, got ", dtype_name(x.dtype()));
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), op, ": y is ", dtype_name(y.dtype()), " but x is ",
                    dtype_name(x.dtype()));
  ENGINE_CHECK(y.shape() == x.shape(), op, ": y ", y.describe(), " does not match x ",
               x.describe());
  ENGINE_CHECK(x.ndim() >= 2, op, ": x must have rank >= 2, got ", x.describe());
  ENGINE_CHECK((attrs.time_axis == 0 && attrs.batch_axis == 1) ||
                   (attrs.time_axis == 1 && attrs.batch_axis == 0),
               op, ": time_axis and batch_axis must be 0 and 1 (either way), got ", attrs.time_axis,
               " and ", attrs.batch_axis);
  ReverseSequenceLayout l;
  l.batch_major = attrs.batch_axis == 0;
  l.steps = x.dim(static_cast<int>(attrs.time_axis));
  l.batch = x.dim(static_cast<int>(attrs.batch_axis));
  for (int d = 2; d < x.ndim(); ++d) l.inner *= x.dim(d);
  ENGINE_CHECK_TYPE(lens.dtype() == DType::Int64, op, ": sequence_lens must be int64, got ",
                    dtype_name(lens.dtype()));
  ENGINE_CHECK(lens.shape() == Shape{l.batch}, op, ": sequence_lens ", lens.describe(),
               " must have one length per batch row (", l.batch, ")");
  const Tensor host = lens.to(Device::cpu());
  for (int64_t b = 0; b < l.batch; ++b) {
    const int64_t n = host.data<int64_t>()[b];
    ENGINE_CHECK(n >= 0 && n <= l.steps, op, ": sequence_lens[", b, "] = ", n,
                 " is out of range [0, ", l.steps, "]");
  }
  if (x.numel() == 0) return;
  const ReverseSequenceKernels& k = reverse_sequence_kernels().get(x.device());
  if (x.dtype() == DType::Float32)
    k.f32(l, lens.data<int64_t>(), x.data<float>(), y.data<float>());
  else
    k.i64(l, lens.data<int64_t>(), x.data<int64_t>(), y.data<int64_t>());
}

}  // namespace engine
