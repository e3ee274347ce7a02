#include "ops/concat/concat.h"

#include <string>

#include "ops/common.h"
#include "core/kernel_table.h"
#include "ops/concat/concat_cuda.h"

namespace engine {

const KernelTable<ConcatKernels>& concat_kernels() {
  static const KernelTable<ConcatKernels> table("Concat", {concat_copy_ref}, {concat_copy_cpu},
                                                concat_cuda_kernels<HostGrid>());
  return table;
}

namespace {

int concat_axis(const Shape& first, int64_t axis, const char* op) {
  ENGINE_CHECK(!first.empty(), op, ": inputs must have rank >= 1, got a scalar");
  return normalize_axis(axis, static_cast<int>(first.size()), op);
}

void check_dense(const Tensor& t, const std::string& what) {
  check_contiguous(t, what.c_str());
}

// The rows above the axis and, per part, its data and row length in bytes.
std::vector<ConcatPart> make_parts(const std::vector<Shape>& shapes,
                                   const std::vector<Tensor>& ts, int ax, DType dtype,
                                   int64_t& outer) {
  outer = 1;
  for (int i = 0; i < ax; ++i) outer *= shapes.front()[i];
  std::vector<ConcatPart> parts;
  for (size_t p = 0; p < shapes.size(); ++p) {
    int64_t row = 1;
    for (size_t i = ax; i < shapes[p].size(); ++i) row *= shapes[p][i];
    char* data = ts[p].defined() ? static_cast<char*>(ts[p].raw_data()) : nullptr;
    parts.push_back({data, row * static_cast<int64_t>(dtype_size(dtype))});
  }
  return parts;
}

}  // namespace

Shape concat_output_shape(const std::vector<Shape>& shapes, int64_t axis) {
  ENGINE_CHECK(!shapes.empty(), "Concat: needs at least one input");
  const int ax = concat_axis(shapes.front(), axis, "Concat");
  Shape out = shapes.front();
  for (size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    bool ok = s.size() == out.size();
    for (size_t d = 0; ok && d < s.size(); ++d)
      if (static_cast<int>(d) != ax && s[d] != out[d]) ok = false;
    ENGINE_CHECK(ok, "Concat: input ", i, " has shape ", shape_str(s), " but input 0 has ",
                 shape_str(shapes.front()), "; only axis ", axis, " may differ");
    out[ax] += s[ax];
  }
  return out;
}

void concat_forward(const std::vector<Tensor>& xs, int64_t axis, Tensor& y) {
  ENGINE_CHECK(!xs.empty(), "Concat: needs at least one input");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string what = str("Concat: input ", i);
    ENGINE_CHECK(xs[i].defined(), what, " is missing");
    ENGINE_CHECK_TYPE(xs[i].dtype() == xs.front().dtype(), what, " is ",
                      dtype_name(xs[i].dtype()), " but input 0 is ",
                      dtype_name(xs.front().dtype()));
    check_dense(xs[i], what);
    shapes.push_back(xs[i].shape());
  }
  const Shape out = concat_output_shape(shapes, axis);
  ENGINE_CHECK(y.defined(), "Concat: y is missing");
  ENGINE_CHECK_TYPE(y.dtype() == xs.front().dtype(), "Concat: y is ", dtype_name(y.dtype()),
                    " but the inputs are ", dtype_name(xs.front().dtype()));
  check_dense(y, "Concat: y");
  ENGINE_CHECK(y.shape() == out, "Concat: y ", y.describe(), " does not match the output shape ",
               shape_str(out));
  int64_t outer = 0;
  const auto parts =
      make_parts(shapes, xs, normalize_axis(axis, y.ndim(), "Concat"), y.dtype(), outer);
  concat_kernels().get(y.device()).copy(outer, parts, static_cast<char*>(y.raw_data()), false);
}

void concat_backward(const Tensor& dy, const std::vector<Shape>& shapes, int64_t axis,
                     std::vector<Tensor>& dxs) {
  const char* op = "Concat_backward";
  ENGINE_CHECK(dy.defined(), op, ": dy is missing");
  check_dense(dy, "Concat_backward: dy");
  ENGINE_CHECK(shapes.size() == dxs.size(), op, ": ", shapes.size(), " input shapes but ",
               dxs.size(), " input gradients");
  const Shape out = concat_output_shape(shapes, axis);
  ENGINE_CHECK(dy.shape() == out, op, ": dy ", dy.describe(),
               " does not match the concatenated shape ", shape_str(out));
  for (size_t i = 0; i < dxs.size(); ++i) {
    if (!dxs[i].defined()) continue;
    const std::string what = str(op, ": dx ", i);
    ENGINE_CHECK_TYPE(dxs[i].dtype() == dy.dtype(), what, " is ", dtype_name(dxs[i].dtype()),
                      " but dy is ", dtype_name(dy.dtype()));
    check_dense(dxs[i], what);
    ENGINE_CHECK(dxs[i].shape() == shapes[i], what, " ", dxs[i].describe(),
                 " does not match input shape ", shape_str(shapes[i]));
  }
  int64_t outer = 0;
  const auto parts =
      make_parts(shapes, dxs, normalize_axis(axis, dy.ndim(), op), dy.dtype(), outer);
  concat_kernels().get(dy.device()).copy(outer, parts, static_cast<char*>(dy.raw_data()), true);
}

}  // namespace engine
