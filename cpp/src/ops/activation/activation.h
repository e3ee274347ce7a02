// Elementwise unary float ops: the activations (ONNX Relu, LeakyRelu, Elu, Selu, Sigmoid,
// Tanh, Softplus, Softsign, HardSigmoid, HardSwish, ThresholdedRelu, Celu, Mish, Swish, Shrink) and
// the math functions (Exp, Log, Sqrt, Abs, Neg, Reciprocal, Erf, Sign, Floor, Ceil, Round, Sin,
// Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh).
//   y = f(x) elementwise, any shape; backward: dx = dy * f'(x), computed from x and y.
//   Where f is piecewise constant (Sign, Floor, Ceil, Round) f' is 0, and at a kink the one-sided
//   value the formula names (Abs: 0 at 0; HardSigmoid, HardSwish: the outer side;
//   ThresholdedRelu, Shrink: 0 at the threshold).
#pragma once

#include <string>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

enum class Activation {
#define ENGINE_ACTIVATION(Name, onnx) Name,
#include "ops/activation/activation_ops.inc"
#undef ENGINE_ACTIVATION
};

// ONNX attribute values; their defaults are in the ops' schemas (LeakyRelu alpha 0.01,
// Elu alpha 1, Selu alpha 1.67326..., gamma 1.0507..., HardSigmoid alpha 0.2, beta 0.5,
// ThresholdedRelu, Celu and Swish alpha 1; Shrink's lambd 0.5 and bias 0 are held as alpha
// and beta).
// The Keras layer passes its own.
struct ActivationAttrs {
  float alpha = 0.0f;
  float beta = 0.0f;
  float gamma = 0.0f;
};

Activation activation_from_name(const std::string& onnx_name);  // "Relu" -> Relu
const char* activation_name(Activation op);
// Whether the derivative reads the output y (Elu, Selu, Sigmoid, Tanh, Exp, Sqrt,
// Reciprocal) or only x.
bool activation_gradient_reads_output(Activation op);

// Op level: validate, then run the selected kernel into caller-provided outputs (the
// executor's planned buffers); the Tensor-returning overloads allocate them.
void activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs, Tensor& y);
Tensor activation_forward(Activation op, const Tensor& x, const ActivationAttrs& attrs);
// dx = dy * f'(x), overwriting dx. `y` is the forward output; when undefined it is
// recomputed from x.
void activation_backward(Activation op, const Tensor& dy, const Tensor& x, const Tensor& y,
                         const ActivationAttrs& attrs, Tensor& dx);

// A Relu the graph planner fused into the epilogue of the Conv or Gemm before it: the
// producer carries this internal attribute (never exported).
constexpr const char* kFusedActivation = "engine_fused_activation";
bool has_fused_relu(const Node& node);
// The gradient before a fused Relu: dy itself when `scratch` is null (no Relu was fused);
// else dy where y > 0 and 0 elsewhere (y being the fused output), written into *scratch.
const Tensor& gradient_before_relu(const Tensor& dy, const Tensor& y, Tensor* scratch);

// Kernels over n contiguous floats. Backward: dx = dy * f'(x), overwriting dx.
struct ActivationKernels {
  void (*forward)(Activation op, const ActivationAttrs& a, int64_t n, const float* x, float* y);
  void (*backward)(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                   const float* y, const float* dy, float* dx);
};
void activation_forward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y);
void activation_backward_cpu(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx);
void activation_forward_ref(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                            float* y);
void activation_backward_ref(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             const float* y, const float* dy, float* dx);

}  // namespace engine
