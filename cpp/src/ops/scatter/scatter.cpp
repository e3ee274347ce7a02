#include "ops/scatter/scatter.h"

#include <algorithm>
#include <string>

#include "core/checked.h"
#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/gather_elements/gather_elements.h"
#include "ops/op.h"
#include "ops/scatter/scatter_kernels.h"

namespace engine {

const KernelTable<ScatterKernels>& scatter_kernels() {
  static const KernelTable<ScatterKernels> table(
      "Scatter", scatter_ref_kernels(), scatter_cpu_kernels(),
      scatter_kernels_for<GridLoop<HostGrid>, GridLoop<HostGrid>>());
  return table;
}

ScatterReduction parse_scatter_reduction(const std::string& name, const char* op) {
  if (name == "none") return ScatterReduction::None;
  if (name == "add") return ScatterReduction::Add;
  if (name == "mul") return ScatterReduction::Mul;
  if (name == "max") return ScatterReduction::Max;
  if (name == "min") return ScatterReduction::Min;
  fail(ErrorKind::Value, op, ": reduction '", name, "' is not one of none, add, mul, max, min");
}

namespace {
// GatherElements' addressing, which ScatterElements reads the other way round.
ScatterLayout elements_layout(const char* op, const Shape& data, const Shape& indices, int64_t axis,
                              Shape* updates_shape) {
  static_assert(kScatterMaxRank == kGatherElementsMaxRank, "one rank limit for both");
  const GatherElementsLayout g = gather_elements_layout(op, data, indices, axis);
  ScatterLayout l;
  l.rank = g.rank;
  l.axis = g.axis;
  std::copy(g.out_dims, g.out_dims + g.rank, l.dims);
  std::copy(g.data_strides, g.data_strides + g.rank, l.strides);
  l.axis_dim = g.axis_dim;
  l.count = g.outputs;
  *updates_shape = indices;
  return l;
}

ScatterLayout nd_layout(const char* op, const Shape& data, const Shape& indices, int64_t batch_dims,
                        Shape* updates_shape) {
  const int rank = static_cast<int>(data.size());
  ENGINE_CHECK(rank >= 1, op, ": data must have rank >= 1, got a scalar");
  ENGINE_CHECK(rank <= kScatterMaxRank, op, ": data has rank ", rank, ", more than ",
               kScatterMaxRank);
  ENGINE_CHECK(!indices.empty(), op, ": indices must have rank >= 1, got a scalar");
  ENGINE_CHECK(
      batch_dims >= 0 && batch_dims < static_cast<int64_t>(indices.size()) && batch_dims < rank, op,
      ": batch_dims ", batch_dims, " must be in [0, ", indices.size() - 1,
      "] and below the rank of data ", rank);
  const int b = static_cast<int>(batch_dims);
  const int64_t q = indices.back();
  ENGINE_CHECK(q >= 1 && q <= rank - b, op, ": the last dim of indices ", shape_str(indices),
               " must be in [1, ", rank - b, "] for data ", shape_str(data),
               b ? " and batch_dims " + std::to_string(b) : std::string());
  for (int d = 0; d < b; ++d)
    ENGINE_CHECK(indices[d] == data[d], op, ": the batch dims of indices ", shape_str(indices),
                 " and data ", shape_str(data), " differ");
  ScatterLayout l;
  l.nd = true;
  l.q = static_cast<int>(q);
  Shape strides = contiguous_strides(data);
  for (int j = 0; j < l.q; ++j) {
    l.dims[j] = data[b + j];
    l.strides[j] = strides[b + j];
  }
  l.slice = 1;
  for (int d = b + l.q; d < rank; ++d) l.slice *= data[d];
  l.batch_stride = b == 0 ? 0 : strides[b - 1];
  l.tuples_per_batch = 1;
  for (size_t d = b; d + 1 < indices.size(); ++d) l.tuples_per_batch *= indices[d];
  updates_shape->assign(indices.begin(), indices.end() - 1);
  updates_shape->insert(updates_shape->end(), data.begin() + b + l.q, data.end());
  l.count = shape_numel(*updates_shape);
  return l;
}

// Every index, on the host, before any kernel writes.
void check_indices(const char* op, const ScatterLayout& l, const Tensor& indices) {
  const Tensor host = indices.to(Device::cpu());
  const int64_t* v = host.data<int64_t>();
  const int64_t n = host.numel();
  for (int64_t k = 0; k < n; ++k) {
    if (l.nd) {
      const int j = static_cast<int>(k % l.q);
      ENGINE_CHECK(v[k] >= -l.dims[j] && v[k] < l.dims[j], op, ": index ", v[k],
                   " is out of range for dim ", j, " of size ", l.dims[j], " it addresses");
    } else {
      ENGINE_CHECK(v[k] >= -l.axis_dim && v[k] < l.axis_dim, op, ": index ", v[k],
                   " is out of range for an axis of size ", l.axis_dim);
    }
  }
}

void check_operand(const char* op, const Tensor& t, const char* what) {
  ENGINE_CHECK(t.defined(), op, ": ", what, " is missing");
  check_contiguous(t, str(op, ": ", what).c_str());
}

void check_indices_tensor(const char* op, const Tensor& indices) {
  check_operand(op, indices, "indices");
  ENGINE_CHECK_TYPE(indices.dtype() == DType::Int64, op, ": indices must be int64, got ",
                    dtype_name(indices.dtype()));
}

void check_value_type(const char* op, const Tensor& t, const char* what) {
  ENGINE_CHECK_TYPE(t.dtype() == DType::Float32 || t.dtype() == DType::Int64, op, ": ", what,
                    " must be float32 or int64, got ", dtype_name(t.dtype()));
}

void check_same(const char* op, const Tensor& t, const Tensor& like, const Shape& shape,
                const char* what) {
  ENGINE_CHECK_TYPE(t.dtype() == like.dtype(), op, ": ", what, " is ", dtype_name(t.dtype()),
                    " but data is ", dtype_name(like.dtype()));
  ENGINE_CHECK(t.shape() == shape, op, ": ", what, " ", t.describe(),
               " does not match the expected shape ", shape_str(shape));
}

// The layout of a call, its indices checked.
ScatterLayout checked_layout(const char* op, const ScatterAttrs& attrs, const Shape& data,
                             const Tensor& indices, Shape* updates_shape) {
  check_indices_tensor(op, indices);
  const ScatterLayout l = scatter_layout(op, attrs, data, indices.shape(), updates_shape);
  check_indices(op, l, indices);
  return l;
}
}  // namespace

ScatterLayout scatter_layout(const char* op, const ScatterAttrs& attrs, const Shape& data,
                             const Shape& indices, Shape* updates_shape) {
  return attrs.nd ? nd_layout(op, data, indices, attrs.batch_dims, updates_shape)
                  : elements_layout(op, data, indices, attrs.axis, updates_shape);
}

void scatter_forward(const char* op, const ScatterAttrs& attrs, const Tensor& data,
                     const Tensor& indices, const Tensor& updates, Tensor& y) {
  check_operand(op, data, "data");
  check_operand(op, updates, "updates");
  check_operand(op, y, "y");
  check_value_type(op, data, "data");
  Shape updates_shape;
  const ScatterLayout l = checked_layout(op, attrs, data.shape(), indices, &updates_shape);
  check_same(op, updates, data, updates_shape, "updates");
  check_same(op, y, data, data.shape(), "y");
  if (y.raw_data() != data.raw_data()) y.copy_from(data);
  if (l.count == 0) return;
  const ScatterKernels& k = scatter_kernels().get(data.device());
  if (data.dtype() == DType::Float32)
    k.f32.scatter(l, attrs.reduction, indices.data<int64_t>(), updates.data<float>(),
                  y.data<float>());
  else
    k.i64.scatter(l, attrs.reduction, indices.data<int64_t>(), updates.data<int64_t>(),
                  y.data<int64_t>());
}

void scatter_backward(const char* op, const ScatterAttrs& attrs, const Tensor& dy,
                      const Tensor& indices, Tensor* ddata, Tensor* dupdates) {
  ENGINE_CHECK(
      attrs.reduction == ScatterReduction::None || attrs.reduction == ScatterReduction::Add, op,
      ": only reductions none and add have a gradient");
  check_operand(op, dy, "dy");
  check_dense_float(dy, str(op, ": dy").c_str());
  Shape updates_shape;
  const ScatterLayout l = checked_layout(op, attrs, dy.shape(), indices, &updates_shape);
  if (!ddata && !dupdates) return;
  if (ddata) check_shape(*ddata, dy.shape(), str(op, ": ddata"));
  if (dupdates) check_shape(*dupdates, updates_shape, str(op, ": dupdates"));
  const ScatterKernels& k = scatter_kernels().get(dy.device());
  if (attrs.reduction == ScatterReduction::Add) {
    if (ddata) ddata->copy_from(dy);
    if (dupdates && l.count)
      k.f32.gather(l, indices.data<int64_t>(), dy.data<float>(), dupdates->data<float>());
    return;
  }
  // none: the claims need dy's copy to take from, ddata's buffer or (when only dupdates is
  // wanted) a temporary one.
  Tensor work = ddata ? *ddata : Tensor::empty(dy.shape(), DType::Float32, dy.device());
  work.copy_from(dy);
  if (l.count)
    k.claim(l, indices.data<int64_t>(), work.data<float>(),
            dupdates ? dupdates->data<float>() : nullptr);
}

ScatterLayout tensor_scatter_layout(const Shape& past, const Shape& update, int64_t axis,
                                    bool circular) {
  const char* op = "TensorScatter";
  const int rank = static_cast<int>(past.size());
  ENGINE_CHECK(rank >= 2, op, ": past_cache must have rank >= 2, got ", shape_str(past));
  ENGINE_CHECK(rank <= kScatterMaxRank, op, ": past_cache has rank ", rank, ", more than ",
               kScatterMaxRank);
  ScatterLayout l;
  l.sequence = true;
  l.circular = circular;
  l.rank = rank;
  l.axis = normalize_axis(axis, rank, op);
  ENGINE_CHECK(l.axis != 0, op, ": axis must not be the batch dim 0");
  bool fits = update.size() == past.size();
  for (int d = 0; fits && d < rank; ++d)
    fits = d == l.axis ? update[d] <= past[d] : update[d] == past[d];
  ENGINE_CHECK(fits, op, ": update ", shape_str(update), " must have the shape of past_cache ",
               shape_str(past), " but along axis ", l.axis, ", where it may be shorter");
  const Shape strides = contiguous_strides(past);
  for (int d = 0; d < rank; ++d) {
    l.dims[d] = update[d];
    l.strides[d] = strides[d];
  }
  l.axis_dim = past[l.axis];
  l.count = shape_numel(update);
  l.per_batch = update[0] ? l.count / update[0] : 1;
  return l;
}

namespace {
// write_indices: [B] int64, each >= 0 and, in linear mode, leaving room for the update.
void check_write_indices(const ScatterLayout& l, const Tensor& write_indices) {
  const char* op = "TensorScatter";
  if (!write_indices.defined()) return;
  check_indices_tensor(op, write_indices);
  ENGINE_CHECK(write_indices.shape() == Shape{l.dims[0]}, op, ": write_indices ",
               write_indices.describe(), " must hold one index per batch row (", l.dims[0], ")");
  const Tensor host = write_indices.to(Device::cpu());
  const int64_t steps = l.dims[l.axis];
  for (int64_t b = 0; b < l.dims[0]; ++b) {
    const int64_t w = host.data<int64_t>()[b];
    ENGINE_CHECK(w >= 0 && (l.circular || w + steps <= l.axis_dim), op, ": write_indices[", b,
                 "] = ", w, " leaves no room for ", steps, " steps in an axis of size ", l.axis_dim,
                 l.circular ? "" : " (mode linear)");
  }
}
}  // namespace

void tensor_scatter_forward(const Tensor& past, const Tensor& update, const Tensor& write_indices,
                            int64_t axis, bool circular, Tensor& y) {
  const char* op = "TensorScatter";
  check_operand(op, past, "past_cache");
  check_operand(op, update, "update");
  check_operand(op, y, "present_cache");
  check_value_type(op, past, "past_cache");
  const ScatterLayout l = tensor_scatter_layout(past.shape(), update.shape(), axis, circular);
  check_same(op, update, past, update.shape(), "update");
  check_same(op, y, past, past.shape(), "present_cache");
  check_write_indices(l, write_indices);
  if (y.raw_data() != past.raw_data()) y.copy_from(past);
  if (l.count == 0) return;
  const int64_t* w = write_indices.defined() ? write_indices.data<int64_t>() : nullptr;
  const ScatterKernels& k = scatter_kernels().get(past.device());
  if (past.dtype() == DType::Float32)
    k.f32.scatter(l, ScatterReduction::None, w, update.data<float>(), y.data<float>());
  else
    k.i64.scatter(l, ScatterReduction::None, w, update.data<int64_t>(), y.data<int64_t>());
}

void tensor_scatter_backward(const Tensor& dy, const Tensor& write_indices, const Shape& update,
                             int64_t axis, bool circular, Tensor* dpast, Tensor* dupdate) {
  const char* op = "TensorScatter_backward";
  check_operand(op, dy, "dy");
  check_dense_float(dy, "TensorScatter_backward: dy");
  const ScatterLayout l = tensor_scatter_layout(dy.shape(), update, axis, circular);
  check_write_indices(l, write_indices);
  if (!dpast && !dupdate) return;
  if (dpast) check_shape(*dpast, dy.shape(), "TensorScatter_backward: dpast_cache");
  if (dupdate) check_shape(*dupdate, update, "TensorScatter_backward: dupdate");
  // As ScatterND's none: every position is written once (the update is no longer than the
  // axis), so each claim takes its position's gradient.
  Tensor work = dpast ? *dpast : Tensor::empty(dy.shape(), DType::Float32, dy.device());
  work.copy_from(dy);
  if (l.count)
    scatter_kernels()
        .get(dy.device())
        .claim(l, write_indices.defined() ? write_indices.data<int64_t>() : nullptr,
               work.data<float>(), dupdate ? dupdate->data<float>() : nullptr);
}

void gather_nd_forward(const Tensor& data, const Tensor& indices, int64_t batch_dims, Tensor& y) {
  const char* op = "GatherND";
  check_operand(op, data, "data");
  check_operand(op, y, "y");
  check_value_type(op, data, "data");
  ScatterAttrs attrs;
  attrs.nd = true;
  attrs.batch_dims = batch_dims;
  Shape y_shape;
  const ScatterLayout l = checked_layout(op, attrs, data.shape(), indices, &y_shape);
  check_same(op, y, data, y_shape, "y");
  if (l.count == 0) return;
  const ScatterKernels& k = scatter_kernels().get(data.device());
  if (data.dtype() == DType::Float32)
    k.f32.gather(l, indices.data<int64_t>(), data.data<float>(), y.data<float>());
  else
    k.i64.gather(l, indices.data<int64_t>(), data.data<int64_t>(), y.data<int64_t>());
}

void gather_nd_backward(const Tensor& dy, const Tensor& indices, int64_t batch_dims,
                        Tensor& ddata) {
  const char* op = "GatherND_backward";
  check_operand(op, ddata, "ddata");
  check_dense_float(ddata, "GatherND_backward: ddata");
  ScatterAttrs attrs;
  attrs.nd = true;
  attrs.batch_dims = batch_dims;
  Shape y_shape;
  const ScatterLayout l = checked_layout(op, attrs, ddata.shape(), indices, &y_shape);
  check_shape(dy, y_shape, "GatherND_backward: dy");
  zero_fill(ddata);
  if (l.count == 0) return;
  scatter_kernels()
      .get(ddata.device())
      .f32.scatter(l, ScatterReduction::Add, indices.data<int64_t>(), dy.data<float>(),
                   ddata.data<float>());
}

}  // namespace engine
