#include "ops/slice/slice.h"

#include <algorithm>
#include <limits>

#include "core/kernel_table.h"
#include "ops/op.h"
#include "ops/slice/slice_cuda.h"

namespace engine {

const KernelTable<StridedKernels>& strided_kernels() {
  static const KernelTable<StridedKernels> table(
      "Slice", {strided_gather_ref, strided_scatter_ref}, {strided_gather_cpu, strided_scatter_cpu},
      slice_cuda_kernels<HostGrid>());
  return table;
}

StridedView slice_view(const Shape& in, const SliceParams& p) {
  const int64_t rank = static_cast<int64_t>(in.size());
  const size_t n = p.starts.size();
  ENGINE_CHECK(p.ends.size() == n, "Slice: starts ", shape_str(p.starts), " and ends ",
               shape_str(p.ends), " differ in length");
  ENGINE_CHECK(p.axes.empty() || p.axes.size() == n, "Slice: axes ", shape_str(p.axes),
               " and starts ", shape_str(p.starts), " differ in length");
  ENGINE_CHECK(p.steps.empty() || p.steps.size() == n, "Slice: steps ", shape_str(p.steps),
               " and starts ", shape_str(p.starts), " differ in length");
  ENGINE_CHECK(p.axes.empty() ? static_cast<int64_t>(n) <= rank : true, "Slice: ", n,
               " starts for input ", shape_str(in), " of rank ", rank);
  StridedView v;
  v.shape = in;
  v.strides = contiguous_strides(in);
  std::vector<char> seen(in.size(), 0);
  for (size_t k = 0; k < n; ++k) {
    const int64_t a = p.axes.empty() ? static_cast<int64_t>(k) : p.axes[k];
    ENGINE_CHECK(a >= -rank && a < rank, "Slice: axis ", a, " out of range [", -rank, ", ",
                 rank - 1, "] for input ", shape_str(in));
    const size_t d = static_cast<size_t>(a < 0 ? a + rank : a);
    ENGINE_CHECK(!seen[d], "Slice: axes ", shape_str(p.axes), " repeat axis ", d);
    seen[d] = 1;
    const int64_t step = p.steps.empty() ? 1 : p.steps[k];
    ENGINE_CHECK(step != 0, "Slice: step ", k, " is 0");
    const int64_t dim = in[d];
    // Negative positions count from the end (INT64_MIN + dim cannot overflow).
    auto from_end = [dim](int64_t i) { return i < 0 ? i + dim : i; };
    int64_t start, count;
    if (step > 0) {
      start = std::clamp(from_end(p.starts[k]), int64_t{0}, dim);
      const int64_t end = std::clamp(from_end(p.ends[k]), int64_t{0}, dim);
      count = end > start ? 1 + (end - start - 1) / step : 0;
    } else if (dim == 0) {
      start = count = 0;
    } else {
      start = std::clamp(from_end(p.starts[k]), int64_t{0}, dim - 1);
      const int64_t end = std::clamp(from_end(p.ends[k]), int64_t{-1}, dim - 1);
      // |step| as unsigned: -INT64_MIN does not fit in int64.
      const uint64_t magnitude = uint64_t{0} - static_cast<uint64_t>(step);
      count = start > end ? 1 + static_cast<int64_t>(static_cast<uint64_t>(start - end - 1) /
                                                     magnitude)
                          : 0;
    }
    v.offset += start * v.strides[d];
    // A step longer than the axis picks one element: its stride never matters.
    v.strides[d] = count > 1 ? v.strides[d] * step : v.strides[d];
    v.shape[d] = count;
  }
  return v;
}

Shape slice_output_shape(const Shape& in, const SliceParams& p) { return slice_view(in, p).shape; }

namespace {
void check_pair(const Tensor& src, const Tensor& dst, const char* op, const char* src_name,
                const char* dst_name) {
  ENGINE_CHECK(src.defined(), op, ": ", src_name, " is missing");
  ENGINE_CHECK(dst.defined(), op, ": ", dst_name, " is missing");
  check_contiguous(src, str(op, ": ", src_name).c_str());
  check_contiguous(dst, str(op, ": ", dst_name).c_str());
  ENGINE_CHECK_TYPE(src.dtype() == dst.dtype(), op, ": ", dst_name, " is ",
                    dtype_name(dst.dtype()), " but ", src_name, " is ", dtype_name(src.dtype()));
}
}  // namespace

void strided_gather(const StridedView& v, const Tensor& strided, Tensor& dense) {
  if (shape_numel(v.shape) == 0) return;
  strided_kernels().get(strided.device()).gather(v, dtype_size(strided.dtype()),
                                                 strided.raw_data(), dense.raw_data());
}

void slice_forward(const Tensor& x, const SliceParams& p, Tensor& y) {
  check_pair(x, y, "Slice", "x", "y");
  const StridedView v = slice_view(x.shape(), p);
  ENGINE_CHECK(y.shape() == v.shape, "Slice: y ", y.describe(), " does not match the output shape ",
               shape_str(v.shape));
  strided_gather(v, x, y);
}

void slice_backward(const Tensor& dy, const SliceParams& p, Tensor& dx) {
  check_pair(dy, dx, "Slice_backward", "dy", "dx");
  const StridedView v = slice_view(dx.shape(), p);
  ENGINE_CHECK(dy.shape() == v.shape, "Slice_backward: dy ", dy.describe(),
               " does not match the output shape ", shape_str(v.shape));
  zero_fill(dx);
  if (shape_numel(v.shape) == 0) return;
  strided_kernels().get(dy.device()).scatter(v, dtype_size(dy.dtype()), dy.raw_data(),
                                             dx.raw_data());
}

}  // namespace engine
