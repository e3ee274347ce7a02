#include "ops/gather/gather.h"

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/gather/gather_cuda.h"
#include "ops/op.h"

namespace engine {

const KernelTable<GatherKernels>& gather_kernels() {
  static const KernelTable<GatherKernels> table(
      "Gather", {gather_check_ref, gather_forward_ref, gather_backward_ref},
      {gather_check_ref, gather_forward_cpu, gather_backward_cpu}, gather_cuda_kernels<HostGrid>());
  return table;
}

Shape gather_output_shape(const Shape& data, const Shape& indices, int64_t axis) {
  ENGINE_CHECK(!data.empty(), "Gather: data must have rank >= 1, got a scalar");
  const int a = normalize_axis(axis, static_cast<int>(data.size()), "Gather");
  Shape out(data.begin(), data.begin() + a);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), data.begin() + a + 1, data.end());
  return out;
}

namespace {

std::string position_str(int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return "indices" + shape_str(index);
}

// The layout, after checking the indices where they live (the host reads back two numbers).
GatherLayout checked_layout(const Shape& data, const Tensor& indices, int64_t axis,
                            const char* op) {
  ENGINE_CHECK(indices.defined(), op, ": indices are missing");
  ENGINE_CHECK_TYPE(indices.dtype() == DType::Int64, op, ": indices must be int64, got ",
                    indices.describe());
  check_contiguous(indices, str(op, ": indices").c_str());
  ENGINE_CHECK(!data.empty(), op, ": data must have rank >= 1, got a scalar");
  const int a = normalize_axis(axis, static_cast<int>(data.size()), op);
  GatherLayout l;
  for (int d = 0; d < a; ++d) l.outer *= data[d];
  for (size_t d = a + 1; d < data.size(); ++d) l.inner *= data[d];
  l.axis_dim = data[a];
  l.count = indices.numel();
  if (l.count == 0) return l;
  thread_local Tensor bad;
  if (!bad.defined() || bad.device() != indices.device())
    bad = Tensor::empty({2}, DType::Int64, indices.device());
  gather_kernels().get(indices.device()).check(l.count, indices.data<int64_t>(), l.axis_dim,
                                               bad.data<int64_t>());
  const Tensor host = bad.to(Device::cpu());
  const int64_t* r = host.data<int64_t>();
  ENGINE_CHECK(r[0] < 0, op, ": index ", r[1], " at ", position_str(r[0], indices.shape()),
               " is out of range [", -l.axis_dim, ", ", l.axis_dim, ") for axis ", axis,
               " of data ", shape_str(data));
  return l;
}

}  // namespace

void gather_forward(const Tensor& data, const Tensor& indices, int64_t axis, Tensor& y) {
  ENGINE_CHECK(data.defined(), "Gather: data is missing");
  check_contiguous(data, "Gather: data");
  const Shape out = gather_output_shape(data.shape(), indices.shape(), axis);
  ENGINE_CHECK(y.defined(), "Gather: y is missing");
  check_contiguous(y, "Gather: y");
  ENGINE_CHECK_TYPE(y.dtype() == data.dtype(), "Gather: y is ", dtype_name(y.dtype()),
                    " but data is ", dtype_name(data.dtype()));
  ENGINE_CHECK(y.shape() == out, "Gather: y ", y.describe(), " does not match the output shape ",
               shape_str(out));
  const GatherLayout l = checked_layout(data.shape(), indices, axis, "Gather");
  if (l.outer * l.count * l.inner == 0) return;
  gather_kernels().get(data.device()).forward(l, dtype_size(data.dtype()), data.raw_data(),
                                              indices.data<int64_t>(), y.raw_data());
}

void gather_backward(const Tensor& dy, const Tensor& indices, int64_t axis, Tensor& dx) {
  const char* op = "Gather_backward";
  ENGINE_CHECK(dy.defined(), op, ": dy is missing");
  check_dense_float(dy, "Gather_backward: dy");
  check_dense_float(dx, "Gather_backward: dx");
  const Shape out = gather_output_shape(dx.shape(), indices.shape(), axis);
  ENGINE_CHECK(dy.shape() == out, op, ": dy ", dy.describe(), " does not match the output shape ",
               shape_str(out));
  const GatherLayout l = checked_layout(dx.shape(), indices, axis, op);
  zero_fill(dx);
  if (l.outer * l.count * l.inner == 0) return;
  gather_kernels().get(dy.device()).backward(l, dy.data<float>(), indices.data<int64_t>(),
                                             dx.data<float>());
}

}  // namespace engine
