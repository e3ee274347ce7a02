#include "ops/argmax/argmax.h"

#include "core/kernel_table.h"
#include "ops/argmax/argmax_kernels.h"
#include "ops/common.h"

namespace engine {

const KernelTable<ArgmaxKernels>& argmax_kernels() {
  static const KernelTable<ArgmaxKernels> table("ArgMax", argmax_ref_kernels(),
                                                argmax_cpu_kernels(),
                                                argmax_kernels_for<GridLoop<HostGrid>>());
  return table;
}

Shape argmax_output_shape(const char* op, const Shape& x, const ArgmaxAttrs& attrs) {
  const int rank = static_cast<int>(x.size());
  ENGINE_CHECK(rank >= 1, op, ": x must have rank >= 1, got a scalar");
  const int axis = normalize_axis(attrs.axis, rank, op);
  ENGINE_CHECK(x[axis] > 0, op, ": axis ", attrs.axis, " of x ", shape_str(x),
               " is empty: there is no index to choose");
  Shape y = x;
  if (attrs.keepdims)
    y[axis] = 1;
  else
    y.erase(y.begin() + axis);
  return y;
}

void argmax_forward(const Tensor& x, const ArgmaxAttrs& attrs, Tensor& y) {
  const char* op = attrs.largest ? "ArgMax" : "ArgMin";
  check_dense_float(x, (std::string(op) + ": x").c_str());
  const Shape shape = argmax_output_shape(op, x.shape(), attrs);
  check_contiguous(y, (std::string(op) + ": y").c_str());
  ENGINE_CHECK_TYPE(y.dtype() == DType::Int64, op, ": y must be int64, got ",
                    dtype_name(y.dtype()));
  ENGINE_CHECK(y.shape() == shape, op, ": y ", y.describe(), " does not match ", shape_str(shape));
  const int axis = normalize_axis(attrs.axis, x.ndim(), op);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int d = axis + 1; d < x.ndim(); ++d) inner *= x.dim(d);
  if (outer * inner == 0) return;
  argmax_kernels()
      .get(x.device())
      .find(outer, x.dim(axis), inner, x.data<float>(), attrs.largest, attrs.select_last_index,
            y.data<int64_t>());
}

}  // namespace engine
