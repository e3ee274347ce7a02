#include "ops/reduce/reduce.h"

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/reduce/reduce_cuda.h"

namespace engine {

ReduceOp reduce_op_from_name(const std::string& onnx_name) {
#define ENGINE_REDUCE(Name, onnx, since) \
  if (onnx_name == onnx) return ReduceOp::Name;
#include "ops/reduce/reduce_ops.inc"
#undef ENGINE_REDUCE
  fail(ErrorKind::Value, "unknown reduction '", onnx_name, "'");
}

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
#define ENGINE_REDUCE(Name, onnx, since) \
  case ReduceOp::Name: return onnx;
#include "ops/reduce/reduce_ops.inc"
#undef ENGINE_REDUCE
  }
  return "unknown";
}

int64_t reduce_axes_input_since(ReduceOp op) {
  switch (op) {
#define ENGINE_REDUCE(Name, onnx, since) \
  case ReduceOp::Name: return since;
#include "ops/reduce/reduce_ops.inc"
#undef ENGINE_REDUCE
  }
  return 18;
}

bool reduce_gradient_reads_output(ReduceOp op) {
  return op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::L2 ||
         op == ReduceOp::LogSumExp || op == ReduceOp::LogSum;
}

const KernelTable<ReduceKernels>& reduce_kernels() {
  static const KernelTable<ReduceKernels> table(
      "reduce", {reduce_forward_ref, reduce_backward_ref},
      {reduce_forward_cpu, reduce_backward_cpu}, reduce_cuda_kernels<HostGrid>());
  return table;
}

namespace {
// Which axes of x are reduced.
std::vector<bool> reduced_axes(const char* op, const Shape& x, const ReduceAttrs& attrs) {
  const int64_t rank = static_cast<int64_t>(x.size());
  if (attrs.axes.empty()) return std::vector<bool>(x.size(), !attrs.noop_with_empty_axes);
  std::vector<bool> reduced(x.size(), false);
  for (int64_t a : attrs.axes) {
    ENGINE_CHECK(a >= -rank && a < rank, op, ": axis ", a, " out of range [", -rank, ", ",
                 rank - 1, "] for input ", shape_str(x));
    const int64_t k = a < 0 ? a + rank : a;
    ENGINE_CHECK(!reduced[k], op, ": axes ", shape_str(attrs.axes), " repeat axis ", k);
    reduced[k] = true;
  }
  return reduced;
}

// Appends an axis, merged into the previous one of the same list when x steps through both
// as through one (always, x being contiguous, when they were neighbours in x).
void push_axis(ReduceAxes& ax, int64_t size, int64_t stride, bool neighbour, const char* op,
               const Shape& x) {
  if (neighbour && ax.rank > 0 && ax.stride[ax.rank - 1] == stride * size) {
    ax.size[ax.rank - 1] *= size;
    ax.stride[ax.rank - 1] = stride;
    return;
  }
  if (ax.rank == kReduceMaxAxes)
    fail(ErrorKind::NotImplemented, op, ": input ", shape_str(x), " alternates kept and ",
         "reduced axes more than ", kReduceMaxAxes, " times");
  ax.size[ax.rank] = size;
  ax.stride[ax.rank] = stride;
  ++ax.rank;
}
}  // namespace

Shape reduce_output_shape(const char* op, const Shape& x, const ReduceAttrs& attrs) {
  const std::vector<bool> reduced = reduced_axes(op, x, attrs);
  Shape out;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!reduced[d])
      out.push_back(x[d]);
    else if (attrs.keepdims)
      out.push_back(1);
  }
  return out;
}

ReduceLayout reduce_layout(const char* op, const Shape& x, const ReduceAttrs& attrs) {
  const std::vector<bool> reduced = reduced_axes(op, x, attrs);
  const Shape strides = contiguous_strides(x);
  ReduceLayout l;
  int last = -1;  // 0 kept, 1 reduced: the list the previous axis went to
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] == 1) continue;  // steps nowhere: neither list needs it
    const int kind = reduced[d] ? 1 : 0;
    push_axis(kind ? l.reduced : l.kept, x[d], strides[d], last == kind, op, x);
    (kind ? l.count : l.outputs) *= x[d];
    last = kind;
  }
  return l;
}

void reduce_forward(ReduceOp op, const Tensor& x, const ReduceAttrs& attrs, Tensor& y) {
  const std::string name = reduce_op_name(op);
  check_dense_float(x, (name + ": x").c_str());
  const ReduceLayout l = reduce_layout(name.c_str(), x.shape(), attrs);
  check_shape(y, reduce_output_shape(name.c_str(), x.shape(), attrs), name + ": y");
  reduce_kernels().get(x.device()).forward(op, l, x.data<float>(), y.data<float>());
}

void reduce_backward(ReduceOp op, const Tensor& dy, const Tensor& x, const Tensor& y,
                     const ReduceAttrs& attrs, Tensor& dx) {
  const std::string name = std::string(reduce_op_name(op)) + "_backward";
  check_dense_float(x, (name + ": x").c_str());
  const ReduceLayout l = reduce_layout(name.c_str(), x.shape(), attrs);
  const Shape y_shape = reduce_output_shape(name.c_str(), x.shape(), attrs);
  check_shape(dy, y_shape, name + ": dy");
  check_shape(dx, x.shape(), name + ": dx");
  Tensor y_used = y;
  if (!y_used.defined()) {
    // The kernels ignore y where the gradient does not read it: dy stands in, unrecomputed.
    if (reduce_gradient_reads_output(op)) {
      y_used = Tensor::empty(y_shape, DType::Float32, x.device());
      reduce_forward(op, x, attrs, y_used);
    } else {
      y_used = dy;
    }
  }
  check_shape(y_used, y_shape, name + ": y");
  reduce_kernels().get(x.device()).backward(op, l, x.data<float>(), y_used.data<float>(),
                                            dy.data<float>(), dx.data<float>());
}

}  // namespace engine
