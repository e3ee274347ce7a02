#include "ops/activation/activation.h"

#include "ops/common.h"

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

ActivationAttrs activation_default_attrs(Activation op) {
  switch (op) {
    case Activation::LeakyRelu: return {0.01f, 0.0f};
    case Activation::Elu: return {1.0f, 0.0f};
    case Activation::Selu: return {1.67326319217681884765625f, 1.05070102214813232421875f};
    default: return {};
  }
}

Tensor activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs) {
  const std::string what = str(activation_name(op), ": x");
  check_dense_float(x, what.c_str());
  Tensor y = Tensor::empty(x.shape());
  auto kernel = use_reference_kernels() ? activation_forward_ref : activation_forward_cpu;
  kernel(op, attrs, x.numel(), x.data<float>(), y.data<float>());
  return y;
}

Tensor activation_backward(Activation op, const Tensor& x, const Tensor& y, const Tensor& dy,
                           const ActivationAttrs& attrs) {
  const std::string name = activation_name(op);
  check_dense_float(x, (name + "_backward: x").c_str());
  check_dense_float(dy, (name + "_backward: dy").c_str());
  ENGINE_CHECK(dy.shape() == x.shape(), name, "_backward: dy ", dy.describe(),
               " does not match x ", x.describe());
  Tensor y_used = y;
  if (y_used.defined()) {
    check_dense_float(y_used, (name + "_backward: y").c_str());
    ENGINE_CHECK(y_used.shape() == x.shape(), name, "_backward: y ", y_used.describe(),
                 " does not match x ", x.describe());
  } else {
    y_used = activation_forward(op, x, attrs);
  }
  Tensor dx = Tensor::empty(x.shape());
  auto kernel = use_reference_kernels() ? activation_backward_ref : activation_backward_cpu;
  kernel(op, attrs, x.numel(), x.data<float>(), y_used.data<float>(), dy.data<float>(),
         dx.data<float>());
  return dx;
}

}  // namespace engine
