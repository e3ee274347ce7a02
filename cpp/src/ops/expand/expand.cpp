#include "ops/expand/expand.h"

#include "ops/binary/binary.h"
#include "ops/slice/slice.h"

namespace engine {

Shape expand_output_shape(const Shape& in, const std::vector<int64_t>& shape) {
  for (int64_t d : shape)
    ENGINE_CHECK(d >= 0, "Expand: shape ", shape_str(shape), " has a negative dim");
  return broadcast_shapes("Expand", in, shape);
}

void expand_forward(const Tensor& x, const std::vector<int64_t>& shape, Tensor& y) {
  ENGINE_CHECK(x.defined(), "Expand: x is missing");
  ENGINE_CHECK(y.defined(), "Expand: y is missing");
  check_contiguous(x, "Expand: x");
  check_contiguous(y, "Expand: y");
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), "Expand: y is ", dtype_name(y.dtype()), " but x is ",
                    dtype_name(x.dtype()));
  const Shape out = expand_output_shape(x.shape(), shape);
  ENGINE_CHECK(y.shape() == out, "Expand: y ", y.describe(), " does not match the output shape ",
               shape_str(out));
  StridedView v;
  v.shape = out;
  v.strides.assign(out.size(), 0);
  const Shape xs = contiguous_strides(x.shape());
  const size_t lead = out.size() - x.shape().size();
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (x.shape()[d] == out[lead + d]) v.strides[lead + d] = xs[d];
  strided_gather(v, x, y);
}

void expand_backward(const Tensor& dy, const std::vector<int64_t>& shape, Tensor& dx) {
  ENGINE_CHECK(dy.defined(), "Expand_backward: dy is missing");
  ENGINE_CHECK(dx.defined(), "Expand_backward: dx is missing");
  const Shape out = expand_output_shape(dx.shape(), shape);
  ENGINE_CHECK(dy.shape() == out, "Expand_backward: dy ", dy.describe(),
               " does not match the output shape ", shape_str(out));
  // x + (a term of y's shape): Add's backward reduces dy over x's broadcast axes and reads
  // neither operand's values, so dx and dy stand in for them.
  binary_backward(BinaryOp::Add, dy, dx, dy, &dx, nullptr);
}

}  // namespace engine
