// The CUDA kernels of the activations, over a Grid (core/grid.h): DeviceGrid in the CUDA
// plugin (activation_cuda.cu), HostGrid for their emulation in the kernel table.
#pragma once

#include "core/grid.h"
#include "ops/activation/activation.h"
#include "ops/activation/activation_dispatch.h"
#include "ops/activation/activation_math.h"

namespace engine {

template <class Grid, Activation op>
void activation_forward_on(const ActivationAttrs& a, int64_t n, const float* x, float* y) {
  const ActivationParams<float> p(a);
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    y[i] = ActivationMath<op>::f(x[i], p);
  });
}

template <class Grid, Activation op>
void activation_backward_on(const ActivationAttrs& a, int64_t n, const float* x, const float* y,
                            const float* dy, float* dx) {
  const ActivationParams<float> p(a);
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    // Relu passes dy where x is NaN, as the CPU kernels do.
    dx[i] = op == Activation::Relu ? (x[i] <= 0.0f ? 0.0f : dy[i])
                                   : dy[i] * ActivationMath<op>::df(x[i], y[i], p);
  });
}

template <class Grid>
void activation_forward_grid(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                             float* y) {
  dispatch_activation(op, [&](auto tag) {
    activation_forward_on<Grid, decltype(tag)::value>(a, n, x, y);
  });
}

template <class Grid>
void activation_backward_grid(Activation op, const ActivationAttrs& a, int64_t n, const float* x,
                              const float* y, const float* dy, float* dx) {
  dispatch_activation(op, [&](auto tag) {
    activation_backward_on<Grid, decltype(tag)::value>(a, n, x, y, dy, dx);
  });
}

template <class Grid>
ActivationKernels activation_cuda_kernels() {
  return {activation_forward_grid<Grid>, activation_backward_grid<Grid>};
}

}  // namespace engine
