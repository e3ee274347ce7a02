#include "ops/gather_elements/gather_elements.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/gather_elements/gather_elements_kernels.h"

namespace engine {

const KernelTable<GatherElementsKernels>& gather_elements_kernels() {
  static const KernelTable<GatherElementsKernels> table(
      "GatherElements", gather_elements_ref_kernels(), gather_elements_cpu_kernels(),
      gather_elements_kernels_for<GridLoop<HostGrid>, GridLoop<HostGrid>>());
  return table;
}

GatherElementsLayout gather_elements_layout(const char* op, const Shape& data, const Shape& indices,
                                            int64_t axis) {
  const int rank = static_cast<int>(data.size());
  ENGINE_CHECK(rank >= 1, op, ": data must have rank >= 1, got a scalar");
  ENGINE_CHECK(rank <= kGatherElementsMaxRank, op, ": data has rank ", rank, ", more than ",
               kGatherElementsMaxRank);
  ENGINE_CHECK(indices.size() == data.size(), op, ": indices ", shape_str(indices),
               " must have the rank of data ", shape_str(data));
  GatherElementsLayout l;
  l.rank = rank;
  l.axis = normalize_axis(axis, rank, op);
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    ENGINE_CHECK(d == l.axis || indices[d] <= data[d], op, ": indices ", shape_str(indices),
                 " exceed data ", shape_str(data), " along dim ", d);
    l.out_dims[d] = indices[d];
    l.data_strides[d] = stride;
    stride *= data[d];
  }
  l.axis_dim = data[l.axis];
  l.outputs = shape_numel(indices);
  return l;
}

namespace {
// Indices live on the tensors' device; they are checked on the host before any kernel runs.
void check_indices(const char* op, const Tensor& indices, int64_t axis_dim) {
  const Tensor host = indices.to(Device::cpu());
  const int64_t* v = host.data<int64_t>();
  for (int64_t k = 0; k < host.numel(); ++k)
    ENGINE_CHECK(v[k] >= -axis_dim && v[k] < axis_dim, op, ": index ", v[k],
                 " is out of range for an axis of size ", axis_dim);
}

void check_inputs(const char* op, const Tensor& indices) {
  ENGINE_CHECK_TYPE(indices.dtype() == DType::Int64, op, ": indices must be int64, got ",
                    dtype_name(indices.dtype()));
  check_contiguous(indices, (std::string(op) + ": indices").c_str());
}
}  // namespace

void gather_elements_forward(const Tensor& data, const Tensor& indices, int64_t axis, Tensor& y) {
  const char* op = "GatherElements";
  check_dense_float(data, "GatherElements: data");
  check_inputs(op, indices);
  const GatherElementsLayout l = gather_elements_layout(op, data.shape(), indices.shape(), axis);
  check_shape(y, indices.shape(), "GatherElements: y");
  check_indices(op, indices, l.axis_dim);
  if (l.outputs == 0) return;
  gather_elements_kernels()
      .get(data.device())
      .forward(l, data.data<float>(), indices.data<int64_t>(), y.data<float>());
}

void gather_elements_backward(const Tensor& dy, const Tensor& indices, int64_t axis,
                              Tensor& ddata) {
  const char* op = "GatherElements_backward";
  check_dense_float(ddata, "GatherElements_backward: ddata");
  check_inputs(op, indices);
  const GatherElementsLayout l = gather_elements_layout(op, ddata.shape(), indices.shape(), axis);
  check_shape(dy, indices.shape(), "GatherElements_backward: dy");
  check_indices(op, indices, l.axis_dim);
  gather_elements_kernels()
      .get(ddata.device())
      .backward(l, ddata.numel(), dy.data<float>(), indices.data<int64_t>(), ddata.data<float>());
}

}  // namespace engine
