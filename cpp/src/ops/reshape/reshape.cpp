#include "ops/reshape/reshape.h"

#include <string>

#include "engine/device.h"

namespace engine {

Shape reshape_output_shape(const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  const int64_t n = shape_numel(in);
  Shape out(spec.size());
  int infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t s = spec[i];
    if (s == -1) {
      ENGINE_CHECK(infer < 0, "Reshape: shape ", shape_str(spec), " has more than one -1");
      infer = static_cast<int>(i);
      out[i] = 1;
      continue;
    }
    ENGINE_CHECK(s >= 0, "Reshape: shape ", shape_str(spec), " has the invalid entry ", s);
    if (s == 0 && !allowzero) {
      ENGINE_CHECK(i < in.size(), "Reshape: shape ", shape_str(spec), " copies dim ", i,
                   " (0) but the input ", shape_str(in), " has rank ", in.size());
      out[i] = in[i];
    } else {
      out[i] = s;
      has_zero = has_zero || s == 0;
    }
  }
  ENGINE_CHECK(!(allowzero && has_zero && infer >= 0), "Reshape: shape ", shape_str(spec),
               " has both 0 and -1 with allowzero=1");
  if (infer >= 0) {
    const int64_t known = shape_numel(out);  // with the inferred dim at 1
    ENGINE_CHECK(known != 0 && n % known == 0, "Reshape: cannot reshape ", shape_str(in), " (",
                 n, " elements) to ", shape_str(spec));
    out[infer] = n / known;
  }
  ENGINE_CHECK(shape_numel(out) == n, "Reshape: cannot reshape ", shape_str(in), " (", n,
               " elements) to ", shape_str(out), " (", shape_numel(out), " elements)");
  return out;
}

Shape flatten_output_shape(const Shape& in, int64_t axis) {
  const int r = static_cast<int>(in.size());
  ENGINE_CHECK(axis >= -r && axis <= r, "Flatten: axis ", axis, " out of range [", -r, ", ", r,
               "] for input ", shape_str(in));
  const int ax = static_cast<int>(axis < 0 ? axis + r : axis);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < r; ++i) (i < ax ? outer : inner) *= in[i];
  return {outer, inner};
}

namespace {

void check_input(const Tensor& x, const char* what) {
  ENGINE_CHECK(x.defined(), what, " is missing");
  check_contiguous(x, what);
}

// y <- x's data, y having `shape`.
void copy_as(const Tensor& x, const Shape& shape, Tensor& y, const char* op) {
  const std::string what = str(op, ": output");
  check_input(y, what.c_str());
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), what, " is ", dtype_name(y.dtype()),
                    " but the input is ", dtype_name(x.dtype()));
  ENGINE_CHECK(y.shape() == shape, what, " ", y.describe(), " does not match the expected shape ",
               shape_str(shape));
  if (y.raw_data() != x.raw_data())
    allocator(x.device()).copy_within(y.raw_data(), x.raw_data(), x.nbytes());
}

}  // namespace

void reshape_forward(const Tensor& x, const std::vector<int64_t>& spec, bool allowzero,
                     Tensor& y) {
  check_input(x, "Reshape: x");
  copy_as(x, reshape_output_shape(x.shape(), spec, allowzero), y, "Reshape");
}

void flatten_forward(const Tensor& x, int64_t axis, Tensor& y) {
  check_input(x, "Flatten: x");
  copy_as(x, flatten_output_shape(x.shape(), axis), y, "Flatten");
}

void identity_forward(const Tensor& x, Tensor& y) {
  check_input(x, "Identity: x");
  copy_as(x, x.shape(), y, "Identity");
}

void reshape_backward(const Tensor& dy, Tensor& dx) {
  check_input(dy, "Reshape_backward: dy");
  check_input(dx, "Reshape_backward: dx");
  ENGINE_CHECK(dx.numel() == dy.numel(), "Reshape_backward: dx ", dx.describe(),
               " and dy ", dy.describe(), " differ in size");
  copy_as(dy, dx.shape(), dx, "Reshape_backward");
}

}  // namespace engine
