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
  auto kernel = use_reference_kernels() ? activation_forward_ref : activation_forward_cpu;
  kernel(op, attrs, x.numel(), x.data<float>(), y.data<float>());
}

Tensor activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs) {
  Tensor y = Tensor::empty(x.shape());
  activation_forward(op, x, attrs, y);
  return y;
}

void activation_backward(Activation op, const Tensor& dy, const Tensor& x, const Tensor& y,
                         const ActivationAttrs& attrs, Tensor& dx) {
  const std::string name = std::string(activation_name(op)) + "_backward";
  check_dense_float(x, (name + ": x").c_str());
  check_same_shape(dy, x, name + ": dy");
  check_same_shape(dx, x, name + ": dx");
  const Tensor y_used = y.defined() ? y : activation_forward(op, x, attrs);
  check_same_shape(y_used, x, name + ": y");
  auto kernel = use_reference_kernels() ? activation_backward_ref : activation_backward_cpu;
  kernel(op, attrs, x.numel(), x.data<float>(), y_used.data<float>(), dy.data<float>(),
         dx.data<float>());
}

Tensor activation_backward(Activation op, const Tensor& dy, const Tensor& x, const Tensor& y,
                           const ActivationAttrs& attrs) {
  Tensor dx = Tensor::empty(x.shape());
  activation_backward(op, dy, x, y, attrs, dx);
  return dx;
}

}  // namespace engine
