#include "ops/activation/activation.h"

#include "core/kernel_table.h"
#include "ops/activation/activation_cuda.h"

namespace engine {

Activation activation_from_name(const std::string& onnx_name) {
#define ENGINE_ACTIVATION(Name, onnx) \
  if (onnx_name == onnx) return Activation::Name;
#include "ops/activation/activation_ops.inc"
#undef ENGINE_ACTIVATION
  fail(ErrorKind::Value, "unknown activation '", onnx_name, "'");
}

const char* activation_name(Activation op) {
  switch (op) {
#define ENGINE_ACTIVATION(Name, onnx) \
  case Activation::Name: return onnx;
#include "ops/activation/activation_ops.inc"
#undef ENGINE_ACTIVATION
  }
  return "unknown";
}

const KernelTable<ActivationKernels>& activation_kernels() {
  static const KernelTable<ActivationKernels> table(
      "activation", {activation_forward_ref, activation_backward_ref},
      {activation_forward_cpu, activation_backward_cpu}, activation_cuda_kernels<HostGrid>());
  return table;
}

namespace {
void check_same_shape(const Tensor& t, const Tensor& x, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == x.shape(), what, " ", t.describe(), " does not match x ",
               x.describe());
}
}  // namespace

void activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs, Tensor& y) {
  const std::string name = activation_name(op);
  check_dense_float(x, (name + ": x").c_str());
  check_same_shape(y, x, name + ": y");
  activation_kernels().get(x.device()).forward(op, attrs, x.numel(), x.data<float>(),
                                                y.data<float>());
}

Tensor activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs) {
  Tensor y = Tensor::empty(x.shape(), DType::Float32, x.device());
  activation_forward(op, x, attrs, y);
  return y;
}

bool activation_gradient_reads_output(Activation op) {
  switch (op) {
    case Activation::Elu:
    case Activation::Selu:
    case Activation::Sigmoid:
    case Activation::Tanh:
    case Activation::Exp:
    case Activation::Sqrt:
    case Activation::Reciprocal: return true;
    default: return false;
  }
}

void activation_backward(Activation op, const Tensor& dy, const Tensor& x, const Tensor& y,
                         const ActivationAttrs& attrs, Tensor& dx) {
  const std::string name = std::string(activation_name(op)) + "_backward";
  check_dense_float(x, (name + ": x").c_str());
  check_same_shape(dy, x, name + ": dy");
  check_same_shape(dx, x, name + ": dx");
  // The kernels ignore y where the derivative does not read it: x stands in, unrecomputed.
  const Tensor y_used = y.defined()                            ? y
                        : activation_gradient_reads_output(op) ? activation_forward(op, x, attrs)
                                                               : x;
  check_same_shape(y_used, x, name + ": y");
  activation_kernels().get(x.device()).backward(op, attrs, x.numel(), x.data<float>(),
                                                 y_used.data<float>(), dy.data<float>(),
                                                 dx.data<float>());
}

bool has_fused_relu(const Node& node) {
  const std::string act = node.attr_string(kFusedActivation, "");
  ENGINE_CHECK(act.empty() || act == "Relu", node.label(), ": cannot fuse activation ", act);
  return act == "Relu";
}

const Tensor& gradient_before_relu(const Tensor& dy, const Tensor& y, Tensor* scratch) {
  if (!scratch) return dy;
  // relu'(x) = [x > 0] = [y > 0] since y = max(x, 0): y stands in for x.
  activation_backward(Activation::Relu, dy, y, y, ActivationAttrs{}, *scratch);
  return *scratch;
}

}  // namespace engine
