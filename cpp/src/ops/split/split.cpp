#include "ops/split/split.h"

#include "core/checked.h"
#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/concat/concat.h"
#include "ops/op.h"

namespace engine {

std::vector<int64_t> split_sizes(const Shape& in, int64_t axis, const std::vector<int64_t>& split,
                                 int64_t num_outputs, size_t outputs) {
  ENGINE_CHECK(!in.empty(), "Split: input must have rank >= 1, got a scalar");
  const int a = normalize_axis(axis, static_cast<int>(in.size()), "Split");
  const int64_t dim = in[a], n = static_cast<int64_t>(outputs);
  ENGINE_CHECK(n >= 1, "Split: needs at least one output");
  if (!split.empty()) {
    ENGINE_CHECK(num_outputs == 0, "Split: give either the split input or num_outputs, not both");
    ENGINE_CHECK(static_cast<int64_t>(split.size()) == n, "Split: split ", shape_str(split),
                 " has ", split.size(), " sizes for ", n, " outputs");
    int64_t total = 0;
    for (int64_t s : split) {
      ENGINE_CHECK(s >= 0, "Split: split ", shape_str(split), " has a negative size");
      total = s > dim - total ? dim + 1 : total + s;  // past dim: too much (no overflow)
    }
    ENGINE_CHECK(total == dim, "Split: split ", shape_str(split), " does not add up to ", dim,
                 ", the size of axis ", axis, " of input ", shape_str(in));
    return split;
  }
  if (num_outputs != 0) {
    ENGINE_CHECK(num_outputs == n, "Split: num_outputs is ", num_outputs, " but the node has ", n,
                 " outputs");
    const int64_t part = ceil_div(dim, n);
    ENGINE_CHECK(part * (n - 1) <= dim, "Split: axis ", axis, " of input ", shape_str(in),
                 " cannot be cut into ", n, " parts of ", part, " with the last one smaller");
    std::vector<int64_t> sizes(n, part);
    sizes.back() = dim - part * (n - 1);
    return sizes;
  }
  ENGINE_CHECK(dim % n == 0, "Split: axis ", axis, " of input ", shape_str(in),
               " does not split evenly into ", n, " outputs (give the split sizes)");
  return std::vector<int64_t>(n, dim / n);
}

std::vector<Shape> split_output_shapes(const Shape& in, int64_t axis,
                                       const std::vector<int64_t>& sizes) {
  const int a = normalize_axis(axis, static_cast<int>(in.size()), "Split");
  std::vector<Shape> shapes(sizes.size(), in);
  for (size_t i = 0; i < sizes.size(); ++i) shapes[i][a] = sizes[i];
  return shapes;
}

namespace {
// The parts of `whole` [outer, A * inner] as Concat's kernels see them.
std::vector<ConcatPart> parts_of(const std::vector<Tensor>& ts, const Shape& whole, int a,
                                 const std::vector<int64_t>& sizes, size_t elem_size,
                                 int64_t& outer) {
  outer = 1;
  int64_t inner = 1;
  for (int d = 0; d < a; ++d) outer *= whole[d];
  for (size_t d = a + 1; d < whole.size(); ++d) inner *= whole[d];
  std::vector<ConcatPart> parts;
  for (size_t i = 0; i < sizes.size(); ++i)
    parts.push_back({ts[i].defined() ? static_cast<char*>(ts[i].raw_data()) : nullptr,
                     sizes[i] * inner * static_cast<int64_t>(elem_size)});
  return parts;
}

void check_part(const Tensor& t, const Shape& shape, DType dtype, const std::string& what,
                const char* other) {
  ENGINE_CHECK_TYPE(t.dtype() == dtype, what, " is ", dtype_name(t.dtype()), " but ", other,
                    " is ", dtype_name(dtype));
  check_contiguous(t, what.c_str());
  ENGINE_CHECK(t.shape() == shape, what, " ", t.describe(), " does not match the part shape ",
               shape_str(shape));
}
}  // namespace

void split_forward(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes,
                   std::vector<Tensor>& ys) {
  ENGINE_CHECK(x.defined(), "Split: x is missing");
  check_contiguous(x, "Split: x");
  const std::vector<Shape> shapes = split_output_shapes(x.shape(), axis, sizes);
  ENGINE_CHECK(ys.size() == shapes.size(), "Split: ", ys.size(), " outputs for ", shapes.size(),
               " parts");
  for (size_t i = 0; i < ys.size(); ++i) {
    ENGINE_CHECK(ys[i].defined(), "Split: output ", i, " is missing");
    check_part(ys[i], shapes[i], x.dtype(), str("Split: output ", i), "x");
  }
  int64_t outer = 0;
  const int a = normalize_axis(axis, x.ndim(), "Split");
  const auto parts = parts_of(ys, x.shape(), a, sizes, dtype_size(x.dtype()), outer);
  if (outer == 0) return;
  concat_kernels().get(x.device()).copy(outer, parts, static_cast<char*>(x.raw_data()), true);
}

void split_backward(const std::vector<Tensor>& dys, int64_t axis,
                    const std::vector<int64_t>& sizes, Tensor& dx) {
  const char* op = "Split_backward";
  ENGINE_CHECK(dx.defined(), op, ": dx is missing");
  check_dense_float(dx, "Split_backward: dx");
  const std::vector<Shape> shapes = split_output_shapes(dx.shape(), axis, sizes);
  ENGINE_CHECK(dys.size() == shapes.size(), op, ": ", dys.size(), " output gradients for ",
               shapes.size(), " parts");
  bool all = true;
  for (size_t i = 0; i < dys.size(); ++i) {
    if (!dys[i].defined()) {
      all = false;
      continue;
    }
    check_part(dys[i], shapes[i], DType::Float32, str(op, ": dy ", i), "dx");
  }
  if (!all) zero_fill(dx);
  int64_t outer = 0;
  const int a = normalize_axis(axis, dx.ndim(), op);
  const auto parts = parts_of(dys, dx.shape(), a, sizes, sizeof(float), outer);
  if (outer == 0) return;
  concat_kernels().get(dx.device()).copy(outer, parts, static_cast<char*>(dx.raw_data()), false);
}

}  // namespace engine
